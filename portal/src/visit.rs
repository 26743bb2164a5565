//! One visit: who is signed in (from the signed session cookie and the server-side row), the
//! CSRF nonce, and the cookies to set or clear on the way out.

use carefront_shared::config::BrowserKeys;
use carefront_shared::context::RequestContext;
use carefront_shared::domain::{Person, SessionRecord};
use carefront_shared::needs::Presentation;
use carefront_shared::plan::{Plan, Recorder};
use carefront_shared::random::token;
use carefront_shared::session::{self, SESSION_COOKIE, SESSION_PURPOSE};
use carefront_shared::store::prelude::*;
use http::header;
use minijinja::context;

use crate::error::PortalError;
use crate::web::{self, cookie, set_cookie};
use crate::{Request, Response};

/// Cookie holding the random nonce CSRF tokens are derived from.
pub const CSRF_COOKIE: &str = "__Host-carefront_csrf";
const CSRF_PURPOSE: &str = "csrf";

/// The signed-in person of a visit.
pub struct SignedIn {
    /// Who they are.
    pub person: Person,
    /// Their session row's key.
    pub session_hash: String,
    /// Whether they proved themselves with a passkey within the re-authentication window.
    pub recently_verified: bool,
    /// How pages are shown to them, from their recorded format needs.
    pub presentation: Presentation,
}

/// What the portal knows about the browser making this request.
pub struct Visit {
    keys: BrowserKeys,
    session_cookie: Option<String>,
    csrf_nonce: String,
    new_csrf_nonce: bool,
    /// Set after the session cookie was checked.
    pub signed_in: Option<SignedIn>,
    clear_session_cookie: bool,
    new_session_cookie: Option<String>,
    extra_cookies: Vec<String>,
}

impl Visit {
    /// Reads the cookies of a request (no store access yet); `keys` are the portal's cookie and
    /// CSRF keys, which its configuration always has.
    pub fn begin(context: &RequestContext<'_>, keys: BrowserKeys, request: &Request) -> Visit {
        let existing = cookie(request, CSRF_COOKIE)
            .filter(|nonce| nonce.len() == 22 && nonce.bytes().all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_'));
        let (csrf_nonce, new_csrf_nonce) = match existing {
            Some(nonce) => (nonce.to_owned(), false),
            None => (token(context.random, 16), true),
        };
        Visit {
            keys,
            session_cookie: cookie(request, SESSION_COOKIE).map(str::to_owned),
            csrf_nonce,
            new_csrf_nonce,
            signed_in: None,
            clear_session_cookie: false,
            new_session_cookie: None,
            extra_cookies: Vec::new(),
        }
    }

    /// The portal's keys for what the browser holds: sessions and cookies, CSRF and drafts.
    pub fn keys(&self) -> &BrowserKeys {
        &self.keys
    }

    /// Checks the session cookie against its server-side row: a tampered cookie, a deleted or
    /// expired row all mean "not signed in", and the stale cookie is cleared.
    pub async fn load_session(&mut self, context: &RequestContext<'_>) -> Result<(), PortalError> {
        let Some(value) = self.session_cookie.take() else { return Ok(()) };
        let Some(id_hash) = session::open(&self.keys.session, SESSION_PURPOSE, &value) else {
            self.clear_session_cookie = true;
            return Ok(());
        };
        let Some(record) = context.store.session(&id_hash).await? else {
            self.clear_session_cookie = true;
            return Ok(());
        };
        if session::check(&record, context.now).is_err() {
            context.store.delete_session(&id_hash).await?;
            self.clear_session_cookie = true;
            return Ok(());
        }
        let Some(person) = context.store.person(&record.person_id).await? else {
            context.store.delete_session(&id_hash).await?;
            self.clear_session_cookie = true;
            return Ok(());
        };
        if session::needs_touch(&record, context.now) {
            context.store.touch_session(&id_hash, context.now).await?;
        }
        let recently_verified = session::recently_verified(&record, context.now);
        // Their own format needs shape every page they see (large print, easy read).
        let presentation = Presentation::of(&context.store.needs(&person.id, false).await?);
        self.signed_in = Some(SignedIn { person, session_hash: id_hash, recently_verified, presentation });
        Ok(())
    }

    /// The signed-in person, or the "sign in" answer.
    pub fn require_person(&self) -> Result<&Person, PortalError> {
        self.signed_in.as_ref().map(|signed_in| &signed_in.person).ok_or(PortalError::SignInRequired)
    }

    /// The CSRF token for forms and scripts on this visit's pages: bound to the browser's
    /// nonce and to the session, so it changes at sign-in and sign-out.
    pub fn csrf_token(&self) -> String {
        self.keys.csrf.sign(CSRF_PURPOSE, &self.csrf_message())
    }

    fn csrf_message(&self) -> String {
        let session = self.signed_in.as_ref().map_or("-", |signed_in| signed_in.session_hash.as_str());
        format!("{}:{session}", self.csrf_nonce)
    }

    /// Refuses a state-changing request from another site, or without this visit's token
    /// (form field `csrf`, or header `X-CSRF-Token` for scripts).
    pub fn check_csrf(&self, context: &RequestContext<'_>, request: &Request) -> Result<(), PortalError> {
        let headers = request.headers();
        if let Some(origin) = headers.get(header::ORIGIN).and_then(|value| value.to_str().ok())
            && origin != context.config.origin_header()
        {
            return Err(PortalError::Csrf);
        }
        if headers.get("sec-fetch-site").and_then(|value| value.to_str().ok()) == Some("cross-site") {
            return Err(PortalError::Csrf);
        }
        if self.new_csrf_nonce {
            return Err(PortalError::Csrf);
        }
        let presented = match headers.get("x-csrf-token").and_then(|value| value.to_str().ok()) {
            Some(token) => Some(token.to_owned()),
            None => form_token(request)?,
        };
        match presented {
            Some(token) if self.keys.csrf.verify(CSRF_PURPOSE, &self.csrf_message(), &token) => Ok(()),
            _ => Err(PortalError::Csrf),
        }
    }

    /// Signs the browser in as `person` with the passkey `passkey_id`: a new session row and
    /// cookie (rotation: any previous session of this browser is deleted in the same batch, so
    /// a fixed or stolen id is worthless). `also` is the rest of the sign-in's change (its audit
    /// event, the device, its notice), applied in the same batch as the session.
    pub async fn start_session(&mut self, context: &RequestContext<'_>, person: Person, passkey_id: Option<String>, also: Plan) -> Result<(), PortalError> {
        let previous = self.signed_in.take().map(|signed_in| signed_in.session_hash);
        // Signing in (or enrolling) is itself a passkey check with user verification.
        let record = SessionRecord {
            id_hash: String::new(),
            person_id: person.id.clone(),
            created_at: context.now,
            last_seen_at: context.now,
            verified_at: context.now,
            passkey_id,
        };
        let presentation = Presentation::of(&context.store.needs(&person.id, false).await?);
        self.rotate(context, previous.as_deref(), record, person, presentation, also).await
    }

    /// Records that the signed-in person just proved themselves again with the passkey
    /// `passkey_id`, and rotates the session: a new id and cookie, the old row gone, so a copy
    /// of the cookie taken before is dead. The absolute timeout still counts from sign-in.
    /// `also` (the check's audit event) is applied in the same batch.
    pub async fn reauthenticated(&mut self, context: &RequestContext<'_>, passkey_id: String, also: Plan) -> Result<(), PortalError> {
        let Some(signed_in) = self.signed_in.take() else { return Err(PortalError::SignInRequired) };
        let Some(current) = context.store.session(&signed_in.session_hash).await? else { return Err(PortalError::SignInRequired) };
        let record = SessionRecord { last_seen_at: context.now, verified_at: context.now, passkey_id: Some(passkey_id), ..current };
        self.rotate(context, Some(&signed_in.session_hash), record, signed_in.person, signed_in.presentation, also).await
    }

    /// Replaces the session `previous` with a freshly minted one made from `record`, in one
    /// batch with `also`.
    async fn rotate(
        &mut self,
        context: &RequestContext<'_>,
        previous: Option<&str>,
        record: SessionRecord,
        person: Person,
        presentation: Presentation,
        also: Plan,
    ) -> Result<(), PortalError> {
        let minted = session::mint(&self.keys.session, SESSION_PURPOSE, context.random);
        let record = SessionRecord { id_hash: minted.id_hash.clone(), ..record };
        let recorder = Recorder::new();
        recorder.store().rotate_session(previous, &record).await?;
        let mut plan = recorder.into_plan();
        plan.extend(also);
        context.store.apply(&plan).await?;
        self.new_session_cookie = Some(minted.cookie_value);
        self.clear_session_cookie = false;
        let recently_verified = session::recently_verified(&record, context.now);
        self.signed_in = Some(SignedIn { person, session_hash: minted.id_hash, recently_verified, presentation });
        Ok(())
    }

    /// What a value held across a passkey check (an edit's draft) is bound to: this browser
    /// (its CSRF nonce) and the signed-in person, which both outlive the session's rotation at
    /// re-authentication. `None` when nobody is signed in.
    pub fn browser_binding(&self) -> Option<String> {
        self.signed_in.as_ref().map(|signed_in| format!("{}:{}", self.csrf_nonce, signed_in.person.id))
    }

    /// Whether the signed-in person proved themselves with a passkey within the
    /// re-authentication window ([`session::REAUTHENTICATION_WINDOW`], 5 minutes).
    pub fn recently_verified(&self) -> bool {
        self.signed_in.as_ref().is_some_and(|signed_in| signed_in.recently_verified)
    }

    /// Signs the browser out: the row is deleted, so a copy of the cookie is dead too.
    pub async fn end_session(&mut self, context: &RequestContext<'_>) -> Result<(), PortalError> {
        if let Some(signed_in) = self.signed_in.take() {
            context.store.delete_session(&signed_in.session_hash).await?;
        }
        self.clear_session_cookie = true;
        self.new_session_cookie = None;
        Ok(())
    }

    /// Sets another cookie on the response.
    pub fn add_cookie(&mut self, cookie: String) {
        self.extra_cookies.push(cookie);
    }

    /// The variables every page template gets. (The context is no longer read here: the CSRF
    /// key is the visit's own. Kept so that the page helpers' signatures stay as they are.)
    pub fn page_context(&self, _context: &RequestContext<'_>, extra: minijinja::Value) -> minijinja::Value {
        let person = self.signed_in.as_ref().map(|signed_in| &signed_in.person);
        let presentation = self.signed_in.as_ref().map(|signed_in| signed_in.presentation).unwrap_or_default();
        let csrf = self.csrf_token();
        // The page's own variables win: merge_maps looks keys up from the last map backwards.
        minijinja::value::merge_maps([
            context! {
                signed_in => person.is_some(),
                name => person.map(|person| person.display_name.clone()),
                role => person.map(|person| person.role.as_str()),
                csrf => csrf,
                large_print => presentation.large_print,
                easy_read => presentation.easy_read,
            },
            extra,
        ])
    }

    /// Adds the cookies this visit set or cleared to the response.
    pub fn finish(self, mut response: Response) -> Response {
        if self.new_csrf_nonce {
            web::add_cookie(&mut response, &set_cookie(CSRF_COOKIE, &self.csrf_nonce, None));
        }
        if let Some(value) = &self.new_session_cookie {
            web::add_cookie(&mut response, &set_cookie(SESSION_COOKIE, value, None));
        } else if self.clear_session_cookie {
            web::add_cookie(&mut response, &set_cookie(SESSION_COOKIE, "", Some(0)));
        }
        for cookie in &self.extra_cookies {
            web::add_cookie(&mut response, cookie);
        }
        response
    }
}

/// The `csrf` field of a form body; a body that is not UTF-8 is malformed, not merely untrusted.
fn form_token(request: &Request) -> Result<Option<String>, PortalError> {
    let text = std::str::from_utf8(request.body()).map_err(|_| PortalError::BadRequest("the form is not valid UTF-8".into()))?;
    let fields = serde_urlencoded::from_str::<Vec<(String, String)>>(text).unwrap_or_default();
    Ok(fields.into_iter().find(|(key, _)| key == "csrf").map(|(_, value)| value))
}
