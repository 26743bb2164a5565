//! The portal's route table: every path and method once, with who may call it. The router
//! dispatches from it; 405 with `Allow`, and HEAD wherever GET is, come from the same table, so
//! there is no second list to drift. Guards run before any handler: a route for signed-in people
//! never reaches its handler without a session, nor a council route without council staff.

use carefront_shared::domain::Role;
use carefront_shared::routing::Routed;
use http::Method;

/// Who may call a route (checked before its handler runs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Guard {
    /// Anyone, signed in or not.
    Anyone,
    /// Someone signed in (anyone else is sent to sign in).
    SignedIn,
    /// Someone signed in with this role (anyone else: not found).
    Role(Role),
    /// A council administrator (caseworkers and everyone else: not found).
    CouncilAdministrator,
    /// A provider's administrator (the provider's other staff and everyone else: not found).
    ProviderAdministrator,
}

/// Whether a change needs a passkey check within the last 5 minutes; without one it is refused
/// (403) on a page that asks for the check and then returns to the page named here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fresh {
    /// No fresh check needed.
    No,
    /// Needed; the check returns to the same path's page.
    SamePage,
    /// Needed; the check returns to this page.
    Page(&'static str),
    /// Needed; the check returns to the page one segment up the path (the page whose form
    /// posts to a path of its own, when that page's path names a person).
    Up,
}

/// What answers a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)] // each variant is the handler of the route that names it
pub enum Endpoint {
    Start,
    InvitationPage,
    AcceptInvitation,
    CreatePasskeyPage,
    RegistrationOptions,
    FinishRegistration,
    SignInPage,
    SignInHelp,
    Help,
    Accessibility,
    Privacy,
    AuthenticationOptions,
    FinishAuthentication,
    SignOut,
    EndSession,
    EndAllSessions,
    SignedOut,
    Home,
    Passkeys,
    RenamePasskey,
    RemovePasskey,
    NotificationSettings,
    SaveNotificationChoices,
    ChangeContact,
    ContactCheckPage,
    CheckContactCode,
    PersonPage,
    CarePlan,
    CarePlanHistory,
    Guide,
    GuideHistory,
    Medicines,
    MedicineHistory,
    Visits,
    Contacts,
    Documents,
    Document,
    DownloadPage,
    DownloadFile,
    NeedsPage,
    SaveNeeds,
    Comments,
    AddComment,
    NewComment,
    Discussions,
    AnswerDiscussion,
    Monitoring,
    ProviderPeople,
    PaperCopy,
    PaperCopyWithCode,
    Access,
    AddAccessPage,
    AddAccess,
    EditAccessPage,
    EditAccess,
    StopAccessPage,
    ReissuePersonInvitation,
    CancelPersonInvitation,
    RevokeAccess,
    Receipt,
    AccessLog,
    ReauthenticationOptions,
    FinishReauthentication,
    EmergencyEntry,
    UseEmergencyCode,
    EmergencyRecord,
    LeaveEmergency,
    EmergencyStopPage,
    StopEmergency,
    ManageEmergencyCode,
    ChangeEmergencyCode,
    CouncilEmergencyAccess,
    FailedNotifications,
    RetryNotification,
    Credentials,
    NewCredentialPage,
    CreateCredential,
    RevokeCredential,
    StaffAccounts,
    InviteCouncilStaffPage,
    InviteCouncilStaff,
    ChangeCouncilRole,
    RemoveStaffAccess,
    ProviderStaff,
    InviteProviderStaffPage,
    InviteProviderStaff,
    RemoveProviderStaffAccess,
    ConsentEvidence,
    DutyContact,
    ChangeDutyContact,
    DutyContactCheckPage,
    CheckDutyContactCode,
    NotEnrolled,
    PersonInvitations,
    IssueInvitation,
    CancelInvitation,
    ProviderToday,
    NewDiscussionPage,
    RecordDiscussion,
    ProviderComments,
    AnswerCommentPage,
    AnswerComment,
    FindPeople,
    AddPersonPage,
    AddPerson,
    CouncilPerson,
    AddRepresentativePage,
    AddRepresentative,
    CommissionProviderPage,
    CommissionProvider,
}

/// One route: a method on a path pattern, its guard and its page.
#[derive(Debug)]
pub struct Route {
    /// The method (`HEAD` is answered wherever `GET` is).
    pub method: Method,
    /// The path pattern (`{name}` matches one non-empty segment).
    pub path: &'static str,
    /// Who may call it.
    pub guard: Guard,
    /// Whether it needs a passkey check within the last 5 minutes.
    pub fresh: Fresh,
    /// What answers it.
    pub endpoint: Endpoint,
}

impl Routed for Route {
    fn method(&self) -> &Method {
        &self.method
    }

    fn pattern(&self) -> &'static str {
        self.path
    }
}

const fn route(method: Method, path: &'static str, guard: Guard, endpoint: Endpoint) -> Route {
    Route { method, path, guard, fresh: Fresh::No, endpoint }
}

/// A route whose change needs a fresh passkey check (see [`Fresh`]).
const fn fresh(method: Method, path: &'static str, guard: Guard, fresh: Fresh, endpoint: Endpoint) -> Route {
    Route { method, path, guard, fresh, endpoint }
}

use Endpoint::*;
use Guard::{Anyone, SignedIn};

const GET: Method = Method::GET;
const POST: Method = Method::POST;
const COUNCIL: Guard = Guard::Role(Role::CouncilStaff);
const ADMINISTRATOR: Guard = Guard::CouncilAdministrator;
const PROVIDER_ADMINISTRATOR: Guard = Guard::ProviderAdministrator;
const PROVIDER_STAFF: Guard = Guard::Role(Role::ProviderStaff);
/// Changes to passkeys and sessions go back to the passkeys page, which asks for the check.
const PASSKEYS: Fresh = Fresh::Page("/passkeys");

/// Every route of the portal. Where two patterns could match one path, the more specific comes
/// first (`/access/add` before `/access/{grant}/…`).
pub static ROUTES: &[Route] = &[
    route(GET, "/", Anyone, Start),
    route(GET, "/invitation", Anyone, InvitationPage),
    route(POST, "/invitation", Anyone, AcceptInvitation),
    route(GET, "/passkeys/create", Anyone, CreatePasskeyPage),
    route(POST, "/passkeys/create/options", Anyone, RegistrationOptions),
    route(POST, "/passkeys/create/finish", Anyone, FinishRegistration),
    route(GET, "/sign-in", Anyone, SignInPage),
    // Help, the accessibility statement and the privacy notice: every footer links to them.
    route(GET, "/sign-in/help", Anyone, SignInHelp),
    route(GET, "/help", Anyone, Help),
    route(GET, "/accessibility-statement", Anyone, Accessibility),
    route(GET, "/privacy", Anyone, Privacy),
    route(POST, "/sign-in/options", Anyone, AuthenticationOptions),
    route(POST, "/sign-in/finish", Anyone, FinishAuthentication),
    route(POST, "/sign-out", Anyone, SignOut),
    fresh(POST, "/sessions/end", SignedIn, PASSKEYS, EndSession),
    fresh(POST, "/sessions/end-all", SignedIn, PASSKEYS, EndAllSessions),
    route(GET, "/signed-out", Anyone, SignedOut),
    route(GET, "/home", SignedIn, Home),
    route(GET, "/passkeys", SignedIn, Passkeys),
    fresh(POST, "/passkeys/{id}/rename", SignedIn, PASSKEYS, RenamePasskey),
    fresh(POST, "/passkeys/{id}/remove", SignedIn, PASSKEYS, RemovePasskey),
    // How the signed-in person is told: their own settings only (no path names a person).
    // Changing where messages go could hide the account's security notices from its owner, so
    // it needs a fresh passkey check.
    route(GET, "/account/notifications", SignedIn, NotificationSettings),
    route(POST, "/account/notifications", SignedIn, SaveNotificationChoices),
    fresh(POST, "/account/notifications/{medium}", SignedIn, Fresh::Page("/account/notifications"), ChangeContact),
    route(GET, "/account/notifications/{medium}/check", SignedIn, ContactCheckPage),
    route(POST, "/account/notifications/{medium}/check", SignedIn, CheckContactCode),
    // The same, for someone acting for the person (the handler answers 404 to anyone without an
    // act-for power on a live grant: staff, family without it, anyone else).
    route(GET, "/people/{id}/notifications", SignedIn, NotificationSettings),
    route(POST, "/people/{id}/notifications", SignedIn, SaveNotificationChoices),
    fresh(POST, "/people/{id}/notifications/{medium}", SignedIn, Fresh::Up, ChangeContact),
    route(GET, "/people/{id}/notifications/{medium}/check", SignedIn, ContactCheckPage),
    route(POST, "/people/{id}/notifications/{medium}/check", SignedIn, CheckContactCode),
    route(POST, "/reauthenticate/options", SignedIn, ReauthenticationOptions),
    route(POST, "/reauthenticate/finish", SignedIn, FinishReauthentication),
    // One person's record and what they share.
    route(GET, "/people/{id}", SignedIn, PersonPage),
    route(GET, "/people/{id}/care-plan", SignedIn, CarePlan),
    route(GET, "/people/{id}/care-plan/history", SignedIn, CarePlanHistory),
    route(GET, "/people/{id}/guide", SignedIn, Guide),
    route(GET, "/people/{id}/guide/history", SignedIn, GuideHistory),
    route(GET, "/people/{id}/medicines", SignedIn, Medicines),
    route(GET, "/people/{id}/medicines/{medicine}/history", SignedIn, MedicineHistory),
    route(GET, "/people/{id}/visits", SignedIn, Visits),
    route(GET, "/people/{id}/contacts", SignedIn, Contacts),
    route(GET, "/people/{id}/documents", SignedIn, Documents),
    route(GET, "/people/{id}/documents/{document}", SignedIn, Document),
    route(GET, "/people/{id}/download", SignedIn, DownloadPage),
    route(GET, "/people/{id}/download/{file}", SignedIn, DownloadFile),
    route(GET, "/people/{id}/needs", SignedIn, NeedsPage),
    route(POST, "/people/{id}/needs", SignedIn, SaveNeeds),
    route(GET, "/people/{id}/comments", SignedIn, Comments),
    route(POST, "/people/{id}/comments", SignedIn, AddComment),
    route(GET, "/people/{id}/comments/new", SignedIn, NewComment),
    route(GET, "/people/{id}/discussions", SignedIn, Discussions),
    route(POST, "/people/{id}/discussions/{discussion}", SignedIn, AnswerDiscussion),
    route(GET, "/people/{id}/print", SignedIn, PaperCopy),
    route(POST, "/people/{id}/print", SignedIn, PaperCopyWithCode),
    route(GET, "/people/{id}/access", SignedIn, Access),
    route(GET, "/people/{id}/access/add", SignedIn, AddAccessPage),
    fresh(POST, "/people/{id}/access/add", SignedIn, Fresh::SamePage, AddAccess),
    route(POST, "/people/{id}/access/invitations/{invitation}/reissue", SignedIn, ReissuePersonInvitation),
    route(POST, "/people/{id}/access/invitations/{invitation}/cancel", SignedIn, CancelPersonInvitation),
    route(GET, "/people/{id}/access/{grant}/edit", SignedIn, EditAccessPage),
    route(POST, "/people/{id}/access/{grant}/edit", SignedIn, EditAccess),
    route(GET, "/people/{id}/access/{grant}/revoke", SignedIn, StopAccessPage),
    route(POST, "/people/{id}/access/{grant}/revoke", SignedIn, RevokeAccess),
    route(GET, "/people/{id}/receipts/{receipt}", SignedIn, Receipt),
    route(GET, "/people/{id}/access-log", SignedIn, AccessLog),
    route(GET, "/people/{id}/emergency-code", SignedIn, ManageEmergencyCode),
    fresh(POST, "/people/{id}/emergency-code", SignedIn, Fresh::SamePage, ChangeEmergencyCode),
    // The signed-in person's own sharing pages.
    route(GET, "/access", SignedIn, Access),
    route(GET, "/access/add", SignedIn, AddAccessPage),
    fresh(POST, "/access/add", SignedIn, Fresh::SamePage, AddAccess),
    route(POST, "/access/invitations/{invitation}/reissue", SignedIn, ReissuePersonInvitation),
    route(POST, "/access/invitations/{invitation}/cancel", SignedIn, CancelPersonInvitation),
    route(GET, "/access/{grant}/edit", SignedIn, EditAccessPage),
    route(POST, "/access/{grant}/edit", SignedIn, EditAccess),
    route(GET, "/access/{grant}/revoke", SignedIn, StopAccessPage),
    route(POST, "/access/{grant}/revoke", SignedIn, RevokeAccess),
    route(GET, "/receipts/{receipt}", SignedIn, Receipt),
    route(GET, "/access-log", SignedIn, AccessLog),
    route(GET, "/emergency-code", SignedIn, ManageEmergencyCode),
    fresh(POST, "/emergency-code", SignedIn, Fresh::SamePage, ChangeEmergencyCode),
    // A clinician with the emergency code (no account).
    route(GET, "/emergency", Anyone, EmergencyEntry),
    route(POST, "/emergency", Anyone, UseEmergencyCode),
    route(GET, "/emergency/record", Anyone, EmergencyRecord),
    route(POST, "/emergency/leave", Anyone, LeaveEmergency),
    // Someone told of an emergency access, with the signed link they were sent (no account).
    route(GET, "/emergency/stop/{token}", Anyone, EmergencyStopPage),
    route(POST, "/emergency/stop/{token}", Anyone, StopEmergency),
    // The council's staff.
    route(GET, "/council/monitoring", COUNCIL, Monitoring),
    route(GET, "/council/monitoring/{provider}/people", COUNCIL, ProviderPeople),
    route(GET, "/council/emergency-access", COUNCIL, CouncilEmergencyAccess),
    route(GET, "/council/invitations", COUNCIL, NotEnrolled),
    route(GET, "/council/people/{id}/invitations", COUNCIL, PersonInvitations),
    // Issuing or reissuing makes a way into the person's account: a fresh passkey check first.
    fresh(POST, "/council/people/{id}/invitations", COUNCIL, Fresh::SamePage, IssueInvitation),
    route(POST, "/council/people/{id}/invitations/{invitation}/cancel", COUNCIL, CancelInvitation),
    route(GET, "/council/people", COUNCIL, FindPeople),
    route(GET, "/council/people/add", COUNCIL, AddPersonPage),
    route(POST, "/council/people/add", COUNCIL, AddPerson),
    route(GET, "/council/people/{id}", COUNCIL, CouncilPerson),
    route(GET, "/council/people/{id}/representatives/add", COUNCIL, AddRepresentativePage),
    fresh(POST, "/council/people/{id}/representatives/add", COUNCIL, Fresh::SamePage, AddRepresentative),
    route(GET, "/council/people/{id}/providers/add", COUNCIL, CommissionProviderPage),
    fresh(POST, "/council/people/{id}/providers/add", COUNCIL, Fresh::SamePage, CommissionProvider),
    route(GET, "/council/notifications", ADMINISTRATOR, FailedNotifications),
    route(POST, "/council/notifications/{id}/retry", ADMINISTRATOR, RetryNotification),
    route(GET, "/council/credentials", ADMINISTRATOR, Credentials),
    route(GET, "/council/credentials/new", ADMINISTRATOR, NewCredentialPage),
    fresh(POST, "/council/credentials/new", ADMINISTRATOR, Fresh::SamePage, CreateCredential),
    route(POST, "/council/credentials/{key_id}/revoke", ADMINISTRATOR, RevokeCredential),
    // Staff accounts: the council's administrators for council staff and providers'
    // administrators; a provider's administrator for their own staff. Inviting someone, or making
    // them an administrator, gives access, so it needs a fresh passkey check.
    route(GET, "/council/staff", ADMINISTRATOR, StaffAccounts),
    route(GET, "/council/staff/invite", ADMINISTRATOR, InviteCouncilStaffPage),
    fresh(POST, "/council/staff/invite", ADMINISTRATOR, Fresh::SamePage, InviteCouncilStaff),
    fresh(POST, "/council/staff/{person}/role", ADMINISTRATOR, Fresh::Page("/council/staff"), ChangeCouncilRole),
    route(POST, "/council/staff/{person}/remove", ADMINISTRATOR, RemoveStaffAccess),
    // A provider's administrator.
    route(GET, "/provider/staff", PROVIDER_ADMINISTRATOR, ProviderStaff),
    route(GET, "/provider/staff/invite", PROVIDER_ADMINISTRATOR, InviteProviderStaffPage),
    fresh(POST, "/provider/staff/invite", PROVIDER_ADMINISTRATOR, Fresh::SamePage, InviteProviderStaff),
    route(POST, "/provider/staff/{person}/remove", PROVIDER_ADMINISTRATOR, RemoveProviderStaffAccess),
    route(GET, "/provider/consent-evidence", PROVIDER_ADMINISTRATOR, ConsentEvidence),
    // The provider's duty contact, told of emergency access: where it goes is a change that
    // needs a fresh passkey check, as a person's own contact points do.
    route(GET, "/provider/duty-contact", PROVIDER_ADMINISTRATOR, DutyContact),
    fresh(POST, "/provider/duty-contact/{medium}", PROVIDER_ADMINISTRATOR, Fresh::Page("/provider/duty-contact"), ChangeDutyContact),
    route(GET, "/provider/duty-contact/{medium}/check", PROVIDER_ADMINISTRATOR, DutyContactCheckPage),
    route(POST, "/provider/duty-contact/{medium}/check", PROVIDER_ADMINISTRATOR, CheckDutyContactCode),
    // A provider's staff, on a phone during a visit.
    route(GET, "/provider", PROVIDER_STAFF, ProviderToday),
    route(GET, "/provider/people/{id}/discussions/new", PROVIDER_STAFF, NewDiscussionPage),
    route(POST, "/provider/people/{id}/discussions/new", PROVIDER_STAFF, RecordDiscussion),
    route(GET, "/provider/comments", PROVIDER_STAFF, ProviderComments),
    route(GET, "/provider/people/{id}/comments/{comment}/answer", PROVIDER_STAFF, AnswerCommentPage),
    route(POST, "/provider/people/{id}/comments/{comment}/answer", PROVIDER_STAFF, AnswerComment),
];

#[cfg(test)]
mod tests {
    use carefront_shared::routing::{Resolution, resolve};

    use super::*;

    #[test]
    fn every_path_resolves_to_one_page_and_the_allowed_methods_come_from_the_table() {
        assert!(
            matches!(resolve(ROUTES, &Method::GET, "/access/add"), Resolution::Found(route, values) if route.endpoint == AddAccessPage && values.is_empty())
        );
        assert!(
            matches!(resolve(ROUTES, &Method::POST, "/access/grant-1/revoke"), Resolution::Found(route, values) if route.endpoint == RevokeAccess && values == ["grant-1"])
        );
        assert!(matches!(resolve(ROUTES, &Method::HEAD, "/people/p/medicines"), Resolution::Found(route, _) if route.endpoint == Medicines));
        match resolve(ROUTES, &Method::DELETE, "/people/p/needs") {
            Resolution::MethodNotAllowed(allowed) => assert_eq!(allowed, "GET, HEAD, POST"),
            other => panic!("{other:?}"),
        }
        match resolve(ROUTES, &Method::GET, "/sign-out") {
            Resolution::MethodNotAllowed(allowed) => assert_eq!(allowed, "POST"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(resolve(ROUTES, &Method::GET, "/people/p/nothing"), Resolution::NotFound));
    }

    #[test]
    fn changes_that_could_take_an_account_need_a_fresh_passkey_check() {
        for (method, path) in [
            (POST, "/passkeys/{id}/rename"),
            (POST, "/passkeys/{id}/remove"),
            (POST, "/account/notifications/{medium}"),
            (POST, "/people/{id}/notifications/{medium}"),
            (POST, "/sessions/end"),
            (POST, "/sessions/end-all"),
            (POST, "/access/add"),
            (POST, "/people/{id}/access/add"),
            (POST, "/emergency-code"),
            (POST, "/people/{id}/emergency-code"),
            (POST, "/council/credentials/new"),
            (POST, "/council/staff/invite"),
            (POST, "/council/staff/{person}/role"),
            (POST, "/provider/staff/invite"),
            (POST, "/provider/duty-contact/{medium}"),
            (POST, "/council/people/{id}/invitations"),
            (POST, "/council/people/{id}/representatives/add"),
            (POST, "/council/people/{id}/providers/add"),
        ] {
            let route = ROUTES.iter().find(|route| route.method == method && route.path == path).unwrap();
            assert_ne!(route.fresh, Fresh::No, "{path}");
        }
        assert!(ROUTES.iter().filter(|route| route.fresh != Fresh::No).all(|route| route.method == POST), "pages ask for the check themselves");
    }

    #[test]
    fn council_pages_are_guarded_by_role_and_record_pages_by_a_session() {
        for route in ROUTES {
            if ["/council/credentials", "/council/staff", "/council/notifications"].iter().any(|area| route.path.starts_with(area)) {
                assert_eq!(route.guard, ADMINISTRATOR, "{}", route.path);
            } else if route.path.starts_with("/provider/staff")
                || route.path == "/provider/consent-evidence"
                || route.path.starts_with("/provider/duty-contact")
            {
                assert_eq!(route.guard, PROVIDER_ADMINISTRATOR, "{}", route.path);
            } else if route.path.starts_with("/council/") {
                assert_eq!(route.guard, COUNCIL, "{}", route.path);
            }
            if route.path == "/provider" || route.path.starts_with("/provider/people/") || route.path == "/provider/comments" {
                assert_eq!(route.guard, PROVIDER_STAFF, "{}", route.path);
            }
            let access_pages = route.path == "/access" || route.path.starts_with("/access/") || route.path == "/access-log";
            if route.path.starts_with("/people/") || access_pages || route.path.starts_with("/account/") {
                assert_eq!(route.guard, SignedIn, "{}", route.path);
            }
        }
    }
}
