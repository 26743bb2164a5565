//! The consent decision, exhaustively: every actor role × grant state × resource × action, as a
//! reviewed table (tests/snapshots/consent_policy__decision_table.snap), plus properties.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use std::collections::BTreeSet;
use std::fmt::Write as _;

use carefront_shared::access::{Decision, Resource, decide};
use carefront_shared::consent::{Action, Actor, Basis, Category, Grant, Grantee};
use carefront_shared::domain::Role;
use chrono::{DateTime, Duration, Utc};
use proptest::prelude::*;

const SUBJECT: &str = "person-subject";

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-21T12:00:00Z").unwrap().with_timezone(&Utc)
}

fn actor(role: &str) -> Actor {
    match role {
        "the person" => Actor { person_id: SUBJECT.into(), role: Role::ServiceUser, organisation_id: None },
        "another service user" => Actor { person_id: "person-other".into(), role: Role::ServiceUser, organisation_id: None },
        "representative" => Actor { person_id: "person-daughter".into(), role: Role::Representative, organisation_id: None },
        "provider staff" => Actor { person_id: "person-carer".into(), role: Role::ProviderStaff, organisation_id: Some("org-provider".into()) },
        "council staff" => Actor { person_id: "person-social-worker".into(), role: Role::CouncilStaff, organisation_id: Some("org-council".into()) },
        other => panic!("unknown role {other}"),
    }
}

/// The grant the scenario gives the actor: medication and care plan, view only.
fn grant_for(actor: &Actor, scenario: &str) -> Vec<Grant> {
    let grantee = match &actor.organisation_id {
        Some(organisation) => Grantee::Organisation(organisation.clone()),
        None => Grantee::Person(actor.person_id.clone()),
    };
    let basis = if actor.role == Role::CouncilStaff { Basis::StatutoryDuty } else { Basis::Consent };
    let base = Grant {
        id: "grant-1".into(),
        version: 1,
        subject_id: SUBJECT.into(),
        grantee,
        categories: BTreeSet::from([Category::Medication, Category::CarePlan]),
        actions: BTreeSet::from([Action::View]),
        act_for: false,
        purpose: "to help with medicines".into(),
        starts_at: now() - Duration::days(10),
        ends_at: Some(now() + Duration::days(10)),
        basis,
        evidence: basis.needs_evidence().then(|| "Care Act 2014 s.27 review".into()),
        recorded_by: SUBJECT.into(),
        revoked_at: None,
    };
    match scenario {
        "no grant" => vec![],
        "active" => vec![base],
        "not yet started" => vec![Grant { starts_at: now() + Duration::days(1), ..base }],
        "expired" => vec![Grant { ends_at: Some(now()), ..base }],
        "revoked" => vec![Grant { revoked_at: Some(now() - Duration::minutes(1)), ..base }],
        "another person's grant" => vec![Grant { subject_id: "person-other".into(), ..base }],
        "act-for with power" => vec![Grant { act_for: true, basis: Basis::LastingPowerOfAttorney, evidence: Some("LPA reference 7000-1234".into()), ..base }],
        "act-for power revoked" => vec![Grant { act_for: true, revoked_at: Some(now() - Duration::minutes(1)), ..base }],
        other => panic!("unknown scenario {other}"),
    }
}

fn outcome(decision: &Decision) -> String {
    match decision {
        Decision::Allow(allowed) => format!("allow ({allowed:?})").replace("Grant { grant_id: \"grant-1\", basis: ", "grant, ").replace(" })", ")"),
        Decision::Deny(refused) => format!("not found ({refused:?})"),
    }
}

#[test]
fn decision_table() {
    let roles = ["the person", "another service user", "representative", "provider staff", "council staff"];
    let scenarios = ["no grant", "active", "not yet started", "expired", "revoked", "another person's grant", "act-for with power", "act-for power revoked"];
    let resources: Vec<(String, Resource)> = Category::ALL
        .iter()
        .map(|category| (category.as_str().to_owned(), Resource::Category(*category)))
        .chain([("manage grants".to_owned(), Resource::Grants)])
        .collect();
    let mut table = String::from("role | grant | resource | action | outcome\n");
    for role in roles {
        let actor = actor(role);
        for scenario in scenarios {
            let grants = grant_for(&actor, scenario);
            for (name, resource) in &resources {
                for action in [Action::View, Action::Contribute] {
                    let decision = decide(&actor, SUBJECT, action, *resource, &grants, now());
                    writeln!(table, "{role} | {scenario} | {name} | {action:?} | {}", outcome(&decision)).unwrap();
                }
            }
        }
    }
    insta::assert_snapshot!(table);
}

fn arbitrary_grant() -> impl Strategy<Value = Grant> {
    (
        prop::sample::subsequence(Category::ALL.to_vec(), 0..=8),
        prop::sample::subsequence(vec![Action::View, Action::Contribute], 0..=2),
        any::<bool>(),
        -100_i64..100,
        prop::option::of(-100_i64..200),
        prop::option::of(-100_i64..100),
        prop::sample::select(vec!["person-daughter", "person-other", "org-provider"]),
        prop::sample::select(vec![SUBJECT, "person-other"]),
    )
        .prop_map(|(categories, actions, act_for, start, end, revoked, grantee, subject)| Grant {
            id: format!("grant-{start}"),
            version: 1,
            subject_id: subject.into(),
            grantee: if grantee.starts_with("org") { Grantee::Organisation(grantee.into()) } else { Grantee::Person(grantee.into()) },
            categories: categories.into_iter().collect(),
            actions: actions.into_iter().collect(),
            act_for,
            purpose: String::new(),
            starts_at: now() + Duration::days(start),
            ends_at: end.map(|end| now() + Duration::days(start + end)),
            basis: Basis::Consent,
            evidence: None,
            recorded_by: SUBJECT.into(),
            revoked_at: revoked.map(|revoked| now() + Duration::days(revoked)),
        })
}

fn any_actor() -> impl Strategy<Value = Actor> {
    prop::sample::select(vec!["representative", "provider staff", "council staff", "another service user"]).prop_map(actor)
}

fn any_resource() -> impl Strategy<Value = Resource> {
    prop_oneof![prop::sample::select(Category::ALL.to_vec()).prop_map(Resource::Category), Just(Resource::Grants)]
}

proptest! {
    #[test]
    fn no_grant_no_access(actor in any_actor(), resource in any_resource(), view in any::<bool>()) {
        let action = if view { Action::View } else { Action::Contribute };
        prop_assert!(!decide(&actor, SUBJECT, action, resource, &[], now()).is_allowed());
    }

    #[test]
    fn revoked_means_gone(actor in any_actor(), grants in prop::collection::vec(arbitrary_grant(), 0..6), resource in any_resource(), view in any::<bool>()) {
        let action = if view { Action::View } else { Action::Contribute };
        let revoked: Vec<Grant> = grants.into_iter().map(|grant| Grant { revoked_at: Some(now() - Duration::seconds(1)), ..grant }).collect();
        prop_assert!(!decide(&actor, SUBJECT, action, resource, &revoked, now()).is_allowed());
    }

    #[test]
    fn expired_means_gone(actor in any_actor(), grants in prop::collection::vec(arbitrary_grant(), 0..6), resource in any_resource(), view in any::<bool>()) {
        let action = if view { Action::View } else { Action::Contribute };
        let expired: Vec<Grant> = grants.into_iter().map(|grant| Grant { ends_at: Some(now()), starts_at: now() - Duration::days(1), ..grant }).collect();
        prop_assert!(!decide(&actor, SUBJECT, action, resource, &expired, now()).is_allowed());
    }

    #[test]
    fn an_allowed_decision_names_a_live_grant_that_covers_it(actor in any_actor(), grants in prop::collection::vec(arbitrary_grant(), 0..6), resource in any_resource(), view in any::<bool>()) {
        let action = if view { Action::View } else { Action::Contribute };
        if let Decision::Allow(carefront_shared::access::Allowed::Grant { grant_id, .. }) = decide(&actor, SUBJECT, action, resource, &grants, now()) {
            // Generated ids may repeat: some grant with that id must be live and about the subject.
            prop_assert!(grants.iter().any(|grant| grant.id == grant_id
                && grant.state(now()) == carefront_shared::consent::GrantState::Active
                && grant.subject_id == SUBJECT));
        }
    }
}
