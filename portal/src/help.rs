//! The pages anyone can read, signed in or not: help (who to call, with the council's own
//! contact details), what to do with a new phone or a passkey that does not work, the
//! accessibility statement and the privacy notice. Every footer links to them. The contact
//! details are the council's organisation contact settings (the ones consent receipts name), so
//! no page says "contact us" without saying how.

use carefront_shared::context::RequestContext;
use carefront_shared::session::IDLE_TIMEOUT;
use carefront_shared::store::prelude::*;
use minijinja::context;
use serde::Serialize;

use crate::error::PortalError;
use crate::visit::Visit;
use crate::{Response, page};

/// The council's contact details as the pages show them; blanks are left out.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CouncilContact {
    /// The council's name ("your council" when none is set up yet).
    pub name: String,
    /// Its telephone number, if recorded.
    pub phone: Option<String>,
    /// Its email address, if recorded.
    pub email: Option<String>,
    /// Its postal address, if recorded.
    pub address: Option<String>,
    /// Its own full privacy notice, if it has one on the web.
    pub privacy_url: Option<String>,
}

fn filled(text: String) -> Option<String> {
    let text = text.trim().to_owned();
    (!text.is_empty()).then_some(text)
}

/// The council's contact details from its organisation contact settings.
pub async fn council_contact(context: &RequestContext<'_>) -> Result<CouncilContact, PortalError> {
    let controller = context.store.receipt_controller().await?;
    Ok(match controller {
        Some(controller) => CouncilContact {
            name: filled(controller.details.pii_controller).unwrap_or_else(|| "your council".to_owned()),
            phone: filled(controller.details.phone),
            email: filled(controller.details.email),
            address: filled(controller.details.address),
            privacy_url: filled(controller.policy_url).filter(|url| url.starts_with("https://") || url.starts_with("http://")),
        },
        None => CouncilContact { name: "your council".to_owned(), ..CouncilContact::default() },
    })
}

/// GET /help.
pub async fn help(context: &RequestContext<'_>, visit: &Visit) -> Result<Response, PortalError> {
    let council = council_contact(context).await?;
    page(context, visit, "help.html", context! { current => "help", council })
}

/// GET /sign-in/help: "I have a new phone or my passkey does not work".
pub async fn sign_in_help(context: &RequestContext<'_>, visit: &Visit) -> Result<Response, PortalError> {
    let council = council_contact(context).await?;
    page(context, visit, "sign_in_help.html", context! { current => "help", council })
}

/// GET /accessibility-statement.
pub async fn accessibility(context: &RequestContext<'_>, visit: &Visit) -> Result<Response, PortalError> {
    let council = council_contact(context).await?;
    page(context, visit, "accessibility.html", context! { current => "help", council })
}

/// GET /privacy: the privacy notice.
pub async fn privacy(context: &RequestContext<'_>, visit: &Visit) -> Result<Response, PortalError> {
    let council = council_contact(context).await?;
    let idle_minutes = IDLE_TIMEOUT.num_minutes();
    page(context, visit, "privacy.html", context! { current => "help", council, idle_minutes })
}
