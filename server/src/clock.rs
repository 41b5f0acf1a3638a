//! Wall-clock time as stored: truncated to whole microseconds, the precision PostgreSQL keeps,
//! so a value written and read back compares equal on both databases.

use chrono::{DateTime, SubsecRound, Utc};

pub fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}
