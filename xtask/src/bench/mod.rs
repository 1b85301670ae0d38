//! The pieces of `cargo xtask bench` (see `commands/bench.rs` for the run itself):
//!
//! - [`project`]: the generated bench project (N keys in one account);
//! - [`cache`]: the bench's own emulator, seeded once with that project and reused while it matches;
//! - [`proxy`]: the fault-injection proxy in front of it, and its control endpoint;
//! - [`scenario`]: the faults of each scenario;
//! - [`clients`]: `kmsctl plan` and the boto3 baseline, timed; [`floor`]: the minimal client and the
//!   analytic quota floor;
//! - [`table`]: results, markdown and targets;
//! - [`realistic`]: the realistic measurement, an apply of N keys into an empty emulator and the plan after
//!   it, with and without the proxy's realistic-AWS rules, and its table.
//!
//! HTTP goes through [`xtask::http`], the client the emulator code uses too.

pub mod cache;
pub mod clients;
pub mod floor;
pub mod project;
pub mod proxy;
pub mod realistic;
pub mod scenario;
pub mod table;

use std::time::{SystemTime, UNIX_EPOCH};

/// `time` in UTC: (year, month, day, hour, minute, second).
pub fn utc(time: SystemTime) -> (i64, i64, i64, i64, i64, i64) {
    let seconds = time
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    let (year, month, day) = civil_date(seconds.div_euclid(86_400));
    let of_day = seconds.rem_euclid(86_400);
    (
        year,
        month,
        day,
        of_day / 3600,
        of_day / 60 % 60,
        of_day % 60,
    )
}

/// The proleptic Gregorian date of a day counted from 1970-01-01 (Howard Hinnant's `civil_from_days`).
fn civil_date(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn dates() {
        assert_eq!(civil_date(0), (1970, 1, 1));
        assert_eq!(civil_date(19_782), (2024, 2, 29));
        assert_eq!(civil_date(-1), (1969, 12, 31));
        assert_eq!(
            utc(UNIX_EPOCH + Duration::from_secs(1_735_787_045)),
            (2025, 1, 2, 3, 4, 5)
        );
    }
}
