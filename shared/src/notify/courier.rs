//! The outbox's courier for GOV.UK Notify: a queued [`Notification`] becomes a Notify
//! [`Message`] with the template configured for its kind and channel, is sent through the
//! runtime's outbound HTTP, and Notify's answer becomes the outbox's (accepted, retry, refused).

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::answer::{self, Outcome};
use super::{Address, Message, Notify, Recipient, Templates};
use crate::context::RequestContext;
use crate::outbound::Outbound;
use crate::outbox::{self, Channel, Courier, CourierError, Notification, Sweep};
use crate::store::StoreError;

/// Sends outbox messages to Notify.
pub struct NotifyCourier<'a> {
    /// The client, with the service's API key.
    pub notify: Notify,
    /// Template ids by kind and channel.
    pub templates: &'a Templates,
    /// The runtime's outbound HTTP.
    pub outbound: &'a dyn Outbound,
    /// When the requests are made (the key's token is dated).
    pub now: DateTime<Utc>,
}

/// The Notify message for `notification` with the template `template_id`.
pub fn message(notification: &Notification, template_id: uuid::Uuid) -> Result<Message, CourierError> {
    let recipient = match notification.channel {
        Channel::Email => Recipient::Email { address: notification.recipient.clone(), reply_to_id: None },
        Channel::Sms => Recipient::Sms { phone_number: notification.recipient.clone(), sender_id: None },
        Channel::Letter => Recipient::Letter(Address::new(notification.recipient.lines()).map_err(|error| CourierError::Refused(error.to_string()))?),
    };
    Ok(Message { recipient, template_id, personalisation: notification.personalisation.clone(), reference: notification.id.clone() })
}

#[async_trait(?Send)]
impl Courier for NotifyCourier<'_> {
    async fn send(&self, notification: &Notification) -> Result<String, CourierError> {
        let template = self
            .templates
            .get(notification.kind.as_str(), notification.channel)
            .ok_or_else(|| CourierError::Refused(format!("no GOV.UK Notify template is configured for {}", notification.template_key())))?;
        let request = self.notify.send_request(&message(notification, template)?, self.now).map_err(|error| CourierError::Refused(error.to_string()))?;
        match answer::outcome(self.outbound.send(request).await) {
            Outcome::Accepted(id) => Ok(id.to_string()),
            Outcome::Retry(failure) => Err(CourierError::Retry(failure.to_string())),
            Outcome::Permanent(failure) => Err(CourierError::Refused(failure.to_string())),
        }
    }
}

/// How many messages one sweep sends at most (a request's own sweep, or a scheduled one).
pub const SWEEP_LIMIT: i64 = 50;

/// How many messages a scheduled send (the cron, `POST /api/v1/outbox/send`) sends at most in
/// one run; GOV.UK Notify allows 3,000 a minute.
pub const SCHEDULED_LIMIT: usize = 500;

/// Sends what is due in the outbox, if this deployment sends messages (an API key is
/// configured and the runtime gave outbound HTTP); `None` if it does not, and messages wait.
pub async fn deliver(context: &RequestContext<'_>) -> Result<Option<Sweep>, StoreError> {
    let (Some(notify), Some(outbound)) = (context.config.notify.sender(), context.outbound) else {
        return Ok(None);
    };
    let courier = NotifyCourier { notify, templates: &context.config.notify.templates, outbound, now: context.now };
    outbox::deliver_due(context.store, &courier, context.now, SWEEP_LIMIT, context.random).await.map(Some)
}

/// A scheduled send: like [`deliver`], but sweeping again while sweeps come back full, up to
/// [`SCHEDULED_LIMIT`] messages.
pub async fn deliver_scheduled(context: &RequestContext<'_>) -> Result<Option<Sweep>, StoreError> {
    let (Some(notify), Some(outbound)) = (context.config.notify.sender(), context.outbound) else {
        return Ok(None);
    };
    let courier = NotifyCourier { notify, templates: &context.config.notify.templates, outbound, now: context.now };
    outbox::deliver_backlog(context.store, &courier, context.now, SWEEP_LIMIT, SCHEDULED_LIMIT, context.random).await.map(Some)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)] // test code

    use std::cell::RefCell;
    use std::collections::BTreeMap;

    use super::*;
    use crate::notify::ApiKey;
    use crate::outbound::{OutboundError, OutboundRequest, OutboundResponse};
    use crate::outbox::NotificationKind;

    /// Answers each request with the next scripted answer, and keeps the requests.
    struct Scripted {
        answers: RefCell<Vec<Result<OutboundResponse, OutboundError>>>,
        sent: RefCell<Vec<OutboundRequest>>,
    }

    #[async_trait(?Send)]
    impl Outbound for Scripted {
        async fn send(&self, request: OutboundRequest) -> Result<OutboundResponse, OutboundError> {
            self.sent.borrow_mut().push(request);
            self.answers.borrow_mut().remove(0)
        }
    }

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).map(|time| time.with_timezone(&Utc)).unwrap_or_default()
    }

    #[test]
    fn a_queued_text_goes_to_notify_with_its_template_and_reference_and_its_answer_is_the_outboxs() {
        let now = at("2026-11-30T10:00:00Z");
        let templates = Templates::parse(r#"{"emergency_access.sms": "f33517ff-2a88-4f6e-b855-c550268ce08a"}"#).unwrap();
        let notify = Notify::new(&url::Url::parse("https://api.notifications.service.gov.uk").unwrap(), ApiKey::parse(crate::notify::tests::KEY).unwrap());
        let accepted = r#"{"id": "740e5834-3a29-46b4-9a6f-16142fde533a", "reference": "n-1", "content": {}, "uri": "", "template": {}}"#;
        let outbound = Scripted {
            answers: RefCell::new(vec![
                Ok(OutboundResponse { status: 201, body: accepted.as_bytes().to_vec() }),
                Ok(OutboundResponse { status: 503, body: b"{}".to_vec() }),
                Ok(OutboundResponse {
                    status: 400,
                    body: br#"{"status_code": 400, "errors": [{"error": "BadRequestError", "message": "phone_number Not a UK mobile number"}]}"#.to_vec(),
                }),
            ]),
            sent: RefCell::new(Vec::new()),
        };
        let courier = NotifyCourier { notify, templates: &templates, outbound: &outbound, now };
        let text = Notification::queued(
            "n-1".into(),
            NotificationKind::EmergencyAccess,
            Channel::Sms,
            "07700 900 123".into(),
            BTreeMap::from([("link".to_owned(), "https://carefront.example/emergency/stop/x".to_owned())]),
            now,
        );
        assert_eq!(pollster::block_on(courier.send(&text)), Ok("740e5834-3a29-46b4-9a6f-16142fde533a".to_owned()));
        let request = outbound.sent.borrow()[0].clone();
        assert!(request.url.as_str().ends_with("/v2/notifications/sms"), "{}", request.url);
        let body: serde_json::Value = serde_json::from_slice(&request.body).unwrap();
        assert_eq!(body["template_id"], "f33517ff-2a88-4f6e-b855-c550268ce08a");
        assert_eq!(body["reference"], "n-1");
        assert_eq!(body["phone_number"], "07700 900 123");
        assert!(matches!(pollster::block_on(courier.send(&text)), Err(CourierError::Retry(_))), "a 503 is tried again");
        let Err(CourierError::Refused(why)) = pollster::block_on(courier.send(&text)) else { panic!("a 400 is final") };
        assert!(why.contains("Not a UK mobile number"), "{why}");
        // No template for a kind and channel: refused before anything is sent.
        let email = Notification { channel: Channel::Email, recipient: "sam@example.org".into(), ..text };
        assert!(matches!(pollster::block_on(courier.send(&email)), Err(CourierError::Refused(why)) if why.contains("emergency_access.email")));
        assert_eq!(outbound.sent.borrow().len(), 3);
    }
}
