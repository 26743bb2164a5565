//! The numbered schema migrations: one set for every SQLite-dialect store, and PostgreSQL's own.
//! wrangler applies the SQLite files to D1 (`migrations_dir`); native and test stores apply them
//! with [`pending`]. PostgreSQL's history starts at a baseline equal to SQLite's schema after
//! migration 26 (no PostgreSQL store is older); each later migration is written in both dialects,
//! under the same name, and `shared/tests/postgres_schema.rs` checks the two schemas agree.

/// One numbered migration.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    /// Its number, from 1, one more than the last (a branch takes its number ahead; the
    /// numbers are contiguous once merged).
    pub number: i64,
    /// Its file name.
    pub name: &'static str,
    /// The SQL to run.
    pub sql: &'static str,
}

/// All migrations in order.
pub const MIGRATIONS: &[Migration] = &[
    Migration { number: 1, name: "0001_init.sql", sql: include_str!("../migrations/0001_init.sql") },
    Migration { number: 2, name: "0002_grants.sql", sql: include_str!("../migrations/0002_grants.sql") },
    Migration { number: 3, name: "0003_session_verification.sql", sql: include_str!("../migrations/0003_session_verification.sql") },
    Migration { number: 4, name: "0004_consent_receipts.sql", sql: include_str!("../migrations/0004_consent_receipts.sql") },
    Migration { number: 5, name: "0005_care_record.sql", sql: include_str!("../migrations/0005_care_record.sql") },
    Migration { number: 6, name: "0006_needs_and_comments.sql", sql: include_str!("../migrations/0006_needs_and_comments.sql") },
    Migration { number: 7, name: "0007_consent_discussions.sql", sql: include_str!("../migrations/0007_consent_discussions.sql") },
    Migration { number: 8, name: "0008_emergency_access.sql", sql: include_str!("../migrations/0008_emergency_access.sql") },
    Migration { number: 9, name: "0009_system_credentials.sql", sql: include_str!("../migrations/0009_system_credentials.sql") },
    Migration { number: 10, name: "0010_idempotency.sql", sql: include_str!("../migrations/0010_idempotency.sql") },
    Migration { number: 11, name: "0011_plan_guards.sql", sql: include_str!("../migrations/0011_plan_guards.sql") },
    Migration { number: 12, name: "0012_session_passkey.sql", sql: include_str!("../migrations/0012_session_passkey.sql") },
    Migration { number: 13, name: "0013_council_roles.sql", sql: include_str!("../migrations/0013_council_roles.sql") },
    Migration { number: 14, name: "0014_rate_limit_windows.sql", sql: include_str!("../migrations/0014_rate_limit_windows.sql") },
    Migration { number: 15, name: "0015_comment_answers.sql", sql: include_str!("../migrations/0015_comment_answers.sql") },
    Migration { number: 16, name: "0016_person_details.sql", sql: include_str!("../migrations/0016_person_details.sql") },
    Migration { number: 17, name: "0017_invitation_cancel.sql", sql: include_str!("../migrations/0017_invitation_cancel.sql") },
    Migration { number: 18, name: "0018_staff_accounts.sql", sql: include_str!("../migrations/0018_staff_accounts.sql") },
    Migration { number: 19, name: "0019_record_writes.sql", sql: include_str!("../migrations/0019_record_writes.sql") },
    Migration { number: 20, name: "0020_recovery_invitations.sql", sql: include_str!("../migrations/0020_recovery_invitations.sql") },
    Migration { number: 21, name: "0021_notifications.sql", sql: include_str!("../migrations/0021_notifications.sql") },
    Migration { number: 22, name: "0022_notification_preferences.sql", sql: include_str!("../migrations/0022_notification_preferences.sql") },
    Migration { number: 23, name: "0023_duty_contacts.sql", sql: include_str!("../migrations/0023_duty_contacts.sql") },
    Migration { number: 24, name: "0024_devices.sql", sql: include_str!("../migrations/0024_devices.sql") },
    Migration { number: 25, name: "0025_grants_ending.sql", sql: include_str!("../migrations/0025_grants_ending.sql") },
    Migration { number: 26, name: "0026_organisation_lists.sql", sql: include_str!("../migrations/0026_organisation_lists.sql") },
    Migration { number: 27, name: "0027_monitoring_figures.sql", sql: include_str!("../migrations/0027_monitoring_figures.sql") },
    Migration { number: 28, name: "0028_provider_today.sql", sql: include_str!("../migrations/0028_provider_today.sql") },
];

/// The migrations still to run on a database at schema version `current`.
pub fn pending(current: i64) -> impl Iterator<Item = &'static Migration> {
    MIGRATIONS.iter().filter(move |migration| migration.number > current)
}

/// PostgreSQL's migrations in order: the baseline (SQLite's schema after 26), then one for each
/// later SQLite migration, with the same number and name.
pub const POSTGRES: &[Migration] = &[
    Migration { number: 26, name: "0026_baseline.sql", sql: include_str!("../migrations-postgres/0026_baseline.sql") },
    Migration { number: 27, name: "0027_monitoring_figures.sql", sql: include_str!("../migrations-postgres/0027_monitoring_figures.sql") },
    Migration { number: 28, name: "0028_provider_today.sql", sql: include_str!("../migrations-postgres/0028_provider_today.sql") },
];

/// The PostgreSQL migrations still to run on a database at schema version `current` (0 for an
/// empty one, which gets the baseline and everything after it).
pub fn pending_postgres(current: i64) -> impl Iterator<Item = &'static Migration> {
    POSTGRES.iter().filter(move |migration| migration.number > current)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_numbered_in_order_and_match_their_files() {
        // Branches take numbers ahead, but once merged every number is there: a gap means a
        // migration was lost in a merge.
        let mut previous = 0;
        for migration in MIGRATIONS {
            assert_eq!(migration.number, previous + 1, "{} is out of order or after a gap", migration.name);
            assert!(migration.name.starts_with(&format!("{:04}_", migration.number)));
            previous = migration.number;
        }
        assert_eq!(file_names("migrations"), names(MIGRATIONS), "migrations/ holds exactly what MIGRATIONS lists");
    }

    #[test]
    fn postgres_has_the_baseline_then_every_later_sqlite_migration_by_name() {
        let (baseline, later) = POSTGRES.split_first().unwrap();
        assert_eq!((baseline.number, baseline.name), (26, "0026_baseline.sql"));
        let sqlite_later: Vec<_> = MIGRATIONS.iter().filter(|migration| migration.number > baseline.number).collect();
        assert_eq!(later.len(), sqlite_later.len(), "every SQLite migration after 26 has a PostgreSQL one");
        for (postgres, sqlite) in later.iter().zip(sqlite_later) {
            assert_eq!((postgres.number, postgres.name), (sqlite.number, sqlite.name), "PostgreSQL's migration {} is SQLite's {}", postgres.name, sqlite.name);
        }
        assert_eq!(file_names("migrations-postgres"), names(POSTGRES), "migrations-postgres/ holds exactly what POSTGRES lists");
    }

    #[test]
    fn an_empty_postgres_database_gets_everything_and_a_current_one_nothing() {
        assert_eq!(pending_postgres(0).count(), POSTGRES.len());
        assert_eq!(pending_postgres(POSTGRES.last().unwrap().number).count(), 0);
    }

    fn file_names(directory: &str) -> Vec<String> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(directory);
        let mut names: Vec<String> = std::fs::read_dir(path).unwrap().map(|entry| entry.unwrap().file_name().into_string().unwrap()).collect();
        names.sort();
        names
    }

    fn names(migrations: &[Migration]) -> Vec<String> {
        migrations.iter().map(|migration| migration.name.to_owned()).collect()
    }
}
