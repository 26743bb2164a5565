//! The API's route table: every path and method, and who may call it. The router dispatches
//! from it and the OpenAPI test reads it, so the document and the router cannot drift apart.

use carefront_shared::credential::Permission;
use carefront_shared::routing::{self, Routed};
use http::Method;

/// Endpoints anyone may call, unsigned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Public {
    /// `GET /api/v1/health`.
    Health,
    /// `GET /api/v1/openapi.json`.
    OpenApi,
    /// `POST /api/v1/consent-receipts/verify`.
    VerifyReceipt,
    /// `POST /api/v1/notify/callbacks`: GOV.UK Notify's delivery receipts, with its bearer token.
    NotifyCallback,
}

/// Endpoints for signed requests from a system credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signed {
    /// `GET /api/v1/people`.
    ListPeople,
    /// `POST /api/v1/outbox/send`.
    SendOutbox,
    /// `POST /api/v1/people`.
    AddPerson,
    /// `POST /api/v1/people/import`.
    ImportPeople,
    /// `GET /api/v1/people/{id}`.
    ShowPerson,
    /// `GET /api/v1/people/{id}/care-plan`.
    CarePlan,
    /// `GET /api/v1/people/{id}/guide`.
    Guide,
    /// `GET /api/v1/people/{id}/medicines`.
    Medicines,
    /// `GET /api/v1/people/{id}/medication-administrations`.
    ListAdministrations,
    /// `POST /api/v1/people/{id}/medication-administrations`.
    RecordAdministration,
    /// `GET /api/v1/people/{id}/visits`.
    ListVisits,
    /// `POST /api/v1/people/{id}/visits`.
    RecordVisit,
    /// `GET /api/v1/people/{id}/contacts`.
    Contacts,
    /// `GET /api/v1/people/{id}/documents`.
    Documents,
    /// `GET /api/v1/people/{id}/documents/{doc}`.
    Document,
    /// `GET /api/v1/people/{id}/needs`.
    PersonNeeds,
    /// `GET /api/v1/needs/changes`.
    NeedChanges,
    /// `GET /api/v1/people/{id}/consent-discussions`.
    PersonDiscussions,
    /// `POST /api/v1/people/{id}/consent-discussions`.
    RecordDiscussion,
    /// `GET /api/v1/consent-discussions`.
    OrganisationDiscussions,
    /// `GET /api/v1/comments`.
    Comments,
    /// `POST /api/v1/people/{id}/comments/{comment}/answer`.
    AnswerComment,
    /// `GET /api/v1/monitoring`.
    Monitoring,
    /// `GET /api/v1/people/{id}/export`.
    Export,
    /// `POST /api/v1/people/{id}/fhir`.
    ImportFhir,
    /// `PUT /api/v1/people/{id}/care-plan`.
    PutCarePlan,
    /// `GET /api/v1/people/{id}/care-plan/versions`.
    CarePlanVersions,
    /// `PUT /api/v1/people/{id}/guide`.
    PutGuide,
    /// `GET /api/v1/people/{id}/guide/versions`.
    GuideVersions,
    /// `POST /api/v1/people/{id}/medicines`.
    StartMedicine,
    /// `PUT /api/v1/people/{id}/medicines/{medicine}`.
    ChangeMedicine,
    /// `POST /api/v1/people/{id}/medicines/{medicine}/stop`.
    StopMedicine,
    /// `GET /api/v1/people/{id}/medicines/{medicine}/versions`.
    MedicineVersions,
    /// `POST /api/v1/people/{id}/allergies`.
    RecordAllergy,
    /// `POST /api/v1/people/{id}/allergies/{allergy}/entered-in-error`.
    AllergyEnteredInError,
    /// `PUT /api/v1/people/{id}/contacts`.
    PutContacts,
    /// `GET /api/v1/people/{id}/contacts/versions`.
    ContactsVersions,
    /// `POST /api/v1/people/{id}/documents`.
    AddDocument,
    /// `GET /api/v1/people/{id}/visit-schedule`.
    VisitSchedule,
    /// `PUT /api/v1/people/{id}/visit-schedule`.
    PutVisitSchedule,
    /// `GET /api/v1/people/{id}/visit-schedule/versions`.
    VisitScheduleVersions,
    /// `POST /api/v1/people/{id}/visits/{visit}/status`.
    VisitStatus,
}

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handler {
    /// Anyone.
    Public(Public),
    /// A signed request whose credential has this permission.
    Signed(Permission, Signed),
}

/// One route: a method on a path pattern (`{name}` matches one non-empty segment).
#[derive(Debug)]
pub struct Route {
    /// The method (`HEAD` is answered wherever `GET` is).
    pub method: Method,
    /// The path pattern, exactly as the OpenAPI document names it.
    pub path: &'static str,
    /// What answers it.
    pub handler: Handler,
}

/// Every route of the API.
pub static ROUTES: &[Route] = &[
    Route { method: Method::GET, path: "/api/v1/health", handler: Handler::Public(Public::Health) },
    Route { method: Method::GET, path: "/api/v1/openapi.json", handler: Handler::Public(Public::OpenApi) },
    Route { method: Method::POST, path: "/api/v1/consent-receipts/verify", handler: Handler::Public(Public::VerifyReceipt) },
    Route { method: Method::POST, path: "/api/v1/notify/callbacks", handler: Handler::Public(Public::NotifyCallback) },
    Route { method: Method::POST, path: "/api/v1/outbox/send", handler: Handler::Signed(Permission::OutboxSend, Signed::SendOutbox) },
    Route { method: Method::GET, path: "/api/v1/people", handler: Handler::Signed(Permission::PeopleRead, Signed::ListPeople) },
    Route { method: Method::POST, path: "/api/v1/people", handler: Handler::Signed(Permission::PeopleWrite, Signed::AddPerson) },
    Route { method: Method::POST, path: "/api/v1/people/import", handler: Handler::Signed(Permission::PeopleWrite, Signed::ImportPeople) },
    Route { method: Method::GET, path: "/api/v1/people/{id}", handler: Handler::Signed(Permission::PeopleRead, Signed::ShowPerson) },
    Route { method: Method::GET, path: "/api/v1/people/{id}/care-plan", handler: Handler::Signed(Permission::RecordRead, Signed::CarePlan) },
    Route { method: Method::GET, path: "/api/v1/people/{id}/guide", handler: Handler::Signed(Permission::RecordRead, Signed::Guide) },
    Route { method: Method::GET, path: "/api/v1/people/{id}/medicines", handler: Handler::Signed(Permission::RecordRead, Signed::Medicines) },
    Route {
        method: Method::GET,
        path: "/api/v1/people/{id}/medication-administrations",
        handler: Handler::Signed(Permission::RecordRead, Signed::ListAdministrations),
    },
    Route {
        method: Method::POST,
        path: "/api/v1/people/{id}/medication-administrations",
        handler: Handler::Signed(Permission::MedicationWrite, Signed::RecordAdministration),
    },
    Route { method: Method::GET, path: "/api/v1/people/{id}/visits", handler: Handler::Signed(Permission::RecordRead, Signed::ListVisits) },
    Route { method: Method::POST, path: "/api/v1/people/{id}/visits", handler: Handler::Signed(Permission::VisitsWrite, Signed::RecordVisit) },
    Route { method: Method::GET, path: "/api/v1/people/{id}/contacts", handler: Handler::Signed(Permission::RecordRead, Signed::Contacts) },
    Route { method: Method::GET, path: "/api/v1/people/{id}/documents", handler: Handler::Signed(Permission::RecordRead, Signed::Documents) },
    Route { method: Method::GET, path: "/api/v1/people/{id}/documents/{doc}", handler: Handler::Signed(Permission::RecordRead, Signed::Document) },
    Route { method: Method::GET, path: "/api/v1/people/{id}/needs", handler: Handler::Signed(Permission::NeedsRead, Signed::PersonNeeds) },
    Route { method: Method::GET, path: "/api/v1/needs/changes", handler: Handler::Signed(Permission::NeedsRead, Signed::NeedChanges) },
    Route {
        method: Method::GET,
        path: "/api/v1/people/{id}/consent-discussions",
        handler: Handler::Signed(Permission::ConsentDiscussionsWrite, Signed::PersonDiscussions),
    },
    Route {
        method: Method::POST,
        path: "/api/v1/people/{id}/consent-discussions",
        handler: Handler::Signed(Permission::ConsentDiscussionsWrite, Signed::RecordDiscussion),
    },
    Route {
        method: Method::GET,
        path: "/api/v1/consent-discussions",
        handler: Handler::Signed(Permission::ConsentDiscussionsWrite, Signed::OrganisationDiscussions),
    },
    Route { method: Method::GET, path: "/api/v1/comments", handler: Handler::Signed(Permission::CommentsWrite, Signed::Comments) },
    Route {
        method: Method::POST,
        path: "/api/v1/people/{id}/comments/{comment}/answer",
        handler: Handler::Signed(Permission::CommentsWrite, Signed::AnswerComment),
    },
    Route { method: Method::GET, path: "/api/v1/monitoring", handler: Handler::Signed(Permission::MonitoringRead, Signed::Monitoring) },
    Route { method: Method::GET, path: "/api/v1/people/{id}/export", handler: Handler::Signed(Permission::ExportRead, Signed::Export) },
    Route { method: Method::POST, path: "/api/v1/people/{id}/fhir", handler: Handler::Signed(Permission::FhirWrite, Signed::ImportFhir) },
    Route { method: Method::PUT, path: "/api/v1/people/{id}/care-plan", handler: Handler::Signed(Permission::RecordWrite, Signed::PutCarePlan) },
    Route { method: Method::GET, path: "/api/v1/people/{id}/care-plan/versions", handler: Handler::Signed(Permission::RecordRead, Signed::CarePlanVersions) },
    Route { method: Method::PUT, path: "/api/v1/people/{id}/guide", handler: Handler::Signed(Permission::RecordWrite, Signed::PutGuide) },
    Route { method: Method::GET, path: "/api/v1/people/{id}/guide/versions", handler: Handler::Signed(Permission::RecordRead, Signed::GuideVersions) },
    Route { method: Method::POST, path: "/api/v1/people/{id}/medicines", handler: Handler::Signed(Permission::MedicationWrite, Signed::StartMedicine) },
    Route {
        method: Method::PUT,
        path: "/api/v1/people/{id}/medicines/{medicine}",
        handler: Handler::Signed(Permission::MedicationWrite, Signed::ChangeMedicine),
    },
    Route {
        method: Method::POST,
        path: "/api/v1/people/{id}/medicines/{medicine}/stop",
        handler: Handler::Signed(Permission::MedicationWrite, Signed::StopMedicine),
    },
    Route {
        method: Method::GET,
        path: "/api/v1/people/{id}/medicines/{medicine}/versions",
        handler: Handler::Signed(Permission::RecordRead, Signed::MedicineVersions),
    },
    Route { method: Method::POST, path: "/api/v1/people/{id}/allergies", handler: Handler::Signed(Permission::MedicationWrite, Signed::RecordAllergy) },
    Route {
        method: Method::POST,
        path: "/api/v1/people/{id}/allergies/{allergy}/entered-in-error",
        handler: Handler::Signed(Permission::MedicationWrite, Signed::AllergyEnteredInError),
    },
    Route { method: Method::PUT, path: "/api/v1/people/{id}/contacts", handler: Handler::Signed(Permission::RecordWrite, Signed::PutContacts) },
    Route { method: Method::GET, path: "/api/v1/people/{id}/contacts/versions", handler: Handler::Signed(Permission::RecordRead, Signed::ContactsVersions) },
    Route { method: Method::POST, path: "/api/v1/people/{id}/documents", handler: Handler::Signed(Permission::RecordWrite, Signed::AddDocument) },
    Route { method: Method::GET, path: "/api/v1/people/{id}/visit-schedule", handler: Handler::Signed(Permission::RecordRead, Signed::VisitSchedule) },
    Route { method: Method::PUT, path: "/api/v1/people/{id}/visit-schedule", handler: Handler::Signed(Permission::VisitsWrite, Signed::PutVisitSchedule) },
    Route {
        method: Method::GET,
        path: "/api/v1/people/{id}/visit-schedule/versions",
        handler: Handler::Signed(Permission::RecordRead, Signed::VisitScheduleVersions),
    },
    Route { method: Method::POST, path: "/api/v1/people/{id}/visits/{visit}/status", handler: Handler::Signed(Permission::VisitsWrite, Signed::VisitStatus) },
];

impl Routed for Route {
    fn method(&self) -> &Method {
        &self.method
    }

    fn pattern(&self) -> &'static str {
        self.path
    }
}

/// What the table says about a request (the matcher the portal's table shares).
pub type Resolution<'p> = routing::Resolution<'static, 'p, Route>;

/// Finds the route for `method` and `path`.
pub fn resolve<'p>(method: &Method, path: &'p str) -> Resolution<'p> {
    routing::resolve(ROUTES, method, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn head_is_get_and_other_methods_are_listed() {
        assert!(matches!(resolve(&Method::HEAD, "/api/v1/people"), Resolution::Found(route, _) if route.method == Method::GET));
        match resolve(&Method::DELETE, "/api/v1/people/x") {
            Resolution::MethodNotAllowed(allowed) => assert_eq!(allowed, "GET, HEAD"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(resolve(&Method::GET, "/api/v1/nothing"), Resolution::NotFound));
    }
}
