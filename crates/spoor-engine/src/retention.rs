//! Retention: how long an index keeps its events and how much room they may take, as Splunk's
//! `indexes.conf` says it (`frozenTimePeriodInSecs`, `maxTotalDataSizeMB`), and which sealed
//! blocks go when a limit is passed.
//!
//! Splunk freezes (deletes, unless archived) whole buckets: a bucket once its newest event is
//! older than `frozenTimePeriodInSecs`, and the oldest buckets while the index takes more than
//! `maxTotalDataSizeMB`. spoor does the same with its sealed blocks (see [`crate::sealed`]):
//! the unit deleted is a whole block of up to 65,536 events, never part of one, and only data
//! that is sealed is ever deleted (the segment being written and closed segments waiting to be
//! sealed are kept until they are sealed, a few seconds after they are closed).
//!
//! This module is pure: [`plan`] decides, the store deletes (see [`Store`](crate::Store)).

use std::fmt;

use serde::{Deserialize, Serialize};

/// An index's retention, as Splunk's `indexes.conf` and `data/indexes` name it.
///
/// ```
/// use spoor_engine::Retention;
///
/// let mut retention = Retention::default();
/// assert_eq!(retention.frozen_time_period_in_secs, 188_697_600); // about six years
/// retention.set("frozenTimePeriodInSecs", "86400")?;
/// assert_eq!(retention.frozen_time_period_in_secs, 86_400);
/// assert!(retention.set("maxTotalDataSizeMB", "lots").is_err());
/// # Ok::<(), spoor_engine::RetentionError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Retention {
    /// A block of events is deleted once its newest event is older than this many seconds
    /// (`frozenTimePeriodInSecs`; 188,697,600 by default, as Splunk's).
    #[serde(rename = "frozenTimePeriodInSecs")]
    pub frozen_time_period_in_secs: u64,
    /// While the index's files take more than this many MiB, its oldest blocks are deleted
    /// (`maxTotalDataSizeMB`; 500,000 by default, as Splunk's).
    #[serde(rename = "maxTotalDataSizeMB")]
    pub max_total_data_size_mb: u64,
}

impl Default for Retention {
    fn default() -> Self {
        Self {
            frozen_time_period_in_secs: 188_697_600,
            max_total_data_size_mb: 500_000,
        }
    }
}

/// A retention setting that cannot be taken.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RetentionError {
    /// No retention setting has this name.
    Unknown(String),
    /// The value is no whole number of the setting's unit.
    Invalid {
        /// The setting.
        setting: &'static str,
        /// The value given.
        value: String,
    },
}

impl fmt::Display for RetentionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unknown(name) => write!(
                f,
                "{name:?} is no retention setting: the engine keeps {}",
                Retention::SETTINGS.join(" and ")
            ),
            Self::Invalid { setting, value } => {
                let unit = if *setting == Retention::SETTINGS[0] {
                    "seconds"
                } else {
                    "MiB"
                };
                write!(
                    f,
                    "{setting}={value:?} is not a whole number of {unit}: give one from 0 to {}",
                    u64::MAX
                )
            }
        }
    }
}

impl std::error::Error for RetentionError {}

impl Retention {
    /// Its settings, by their Splunk names.
    pub const SETTINGS: [&str; 2] = ["frozenTimePeriodInSecs", "maxTotalDataSizeMB"];

    /// Sets one setting by its Splunk name from its text (a whole number, as `indexes.conf`
    /// takes it; spaces around it are allowed). A bad name or value changes nothing.
    pub fn set(&mut self, setting: &str, value: &str) -> Result<(), RetentionError> {
        let (name, field) = match setting {
            "frozenTimePeriodInSecs" => (Self::SETTINGS[0], &mut self.frozen_time_period_in_secs),
            "maxTotalDataSizeMB" => (Self::SETTINGS[1], &mut self.max_total_data_size_mb),
            other => return Err(RetentionError::Unknown(other.to_owned())),
        };
        let trimmed = value.trim();
        // `u64`'s parser takes a leading `+`; indexes.conf's numbers are digits alone.
        if trimmed.is_empty() || !trimmed.bytes().all(|b| b.is_ascii_digit()) {
            return Err(RetentionError::Invalid {
                setting: name,
                value: value.to_owned(),
            });
        }
        *field = trimmed.parse().map_err(|_| RetentionError::Invalid {
            setting: name,
            value: value.to_owned(),
        })?;
        Ok(())
    }

    /// The newest time (microseconds since the epoch) a block may hold at `now` and still be
    /// past the age limit: blocks whose newest event is older than this go.
    pub(crate) fn cutoff(&self, now_micros: i64) -> i64 {
        let cutoff =
            i128::from(now_micros) - i128::from(self.frozen_time_period_in_secs) * 1_000_000;
        // A period longer than any time there is keeps everything.
        i64::try_from(cutoff).unwrap_or(i64::MIN)
    }

    /// The index's room, in bytes.
    fn max_bytes(&self) -> u64 {
        self.max_total_data_size_mb.saturating_mul(1 << 20)
    }
}

/// What [`plan`] knows of a sealed block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Candidate {
    /// Its newest event's time, in microseconds since the epoch.
    pub(crate) latest: i64,
    /// Its bytes on disk.
    pub(crate) bytes: u64,
}

/// Which of an index's sealed `blocks` (given oldest data first: in the order they were
/// written) go at `now`, when its files take `total` bytes: every block whose newest event is
/// older than the age limit, then, while the index still takes more than its room, the block
/// with the oldest newest event (ties: the first written). Returns their positions in
/// `blocks`, ascending.
///
/// The unsealed data counts in `total` but is never deleted, so an index whose unsealed data
/// alone passes its room keeps it until it is sealed.
pub(crate) fn plan(
    blocks: &[Candidate],
    total: u64,
    retention: &Retention,
    now_micros: i64,
) -> Vec<usize> {
    let cutoff = retention.cutoff(now_micros);
    let mut gone = vec![false; blocks.len()];
    let mut left = total;
    for (i, block) in blocks.iter().enumerate() {
        if block.latest < cutoff {
            gone[i] = true;
            left = left.saturating_sub(block.bytes);
        }
    }
    let room = retention.max_bytes();
    if left > room {
        let mut oldest: Vec<usize> = (0..blocks.len()).filter(|&i| !gone[i]).collect();
        // A stable sort: blocks of the same newest time go in the order they were written.
        oldest.sort_by_key(|&i| blocks[i].latest);
        for i in oldest {
            if left <= room {
                break;
            }
            gone[i] = true;
            left = left.saturating_sub(blocks[i].bytes);
        }
    }
    (0..blocks.len()).filter(|&i| gone[i]).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400 * 1_000_000;
    const MIB: u64 = 1 << 20;

    fn block(latest_days: i64, mib: u64) -> Candidate {
        Candidate {
            latest: latest_days * DAY,
            bytes: mib * MIB,
        }
    }

    fn retention(days: u64, mb: u64) -> Retention {
        Retention {
            frozen_time_period_in_secs: days * 86_400,
            max_total_data_size_mb: mb,
        }
    }

    #[test]
    fn blocks_whose_newest_event_is_past_the_age_limit_go() {
        // Now is day 100; ten days are kept: day 90 exactly is kept, day 89 goes.
        let blocks = [block(80, 1), block(95, 1), block(89, 1), block(90, 1)];
        let gone = plan(&blocks, 4 * MIB, &retention(10, 1_000), 100 * DAY);
        assert_eq!(gone, [0, 2]);
    }

    #[test]
    fn past_the_room_the_blocks_of_the_oldest_events_go_first() {
        // 10 MiB of blocks and 2 MiB unsealed in 8 MiB of room: 4 MiB must go, the blocks
        // of days 3 (3 MiB) and 5 (2 MiB), oldest newest event first, whatever their order.
        let blocks = [block(7, 2), block(5, 2), block(9, 3), block(3, 3)];
        let gone = plan(&blocks, 12 * MIB, &retention(10_000, 8), 10 * DAY);
        assert_eq!(gone, [1, 3]);
    }

    #[test]
    fn the_age_limit_counts_before_the_room() {
        // Day 1's block goes by age, which leaves 6 MiB in 6 MiB of room: nothing else goes.
        let blocks = [block(1, 4), block(50, 3), block(60, 3)];
        let gone = plan(&blocks, 10 * MIB, &retention(30, 6), 70 * DAY);
        assert_eq!(gone, [0]);
    }

    #[test]
    fn ties_go_in_the_order_written_and_unsealed_data_stays() {
        let blocks = [block(5, 1), block(5, 1), block(5, 1)];
        // 1 MiB of room, 3 MiB of blocks and 2 MiB unsealed: every block goes, and the index
        // still takes 2 MiB.
        assert_eq!(
            plan(&blocks, 5 * MIB, &retention(10_000, 1), 6 * DAY),
            [0, 1, 2]
        );
        assert_eq!(plan(&blocks, 3 * MIB, &retention(10_000, 2), 6 * DAY), [0]);
    }

    #[test]
    fn the_defaults_are_splunks_and_extremes_do_not_overflow() {
        // Six years (2,184 days) and 500,000 MiB: of blocks 3,000, 2,000 and 0 days old, the
        // first goes.
        let recent = [block(17_000, 1), block(18_000, 1), block(20_000, 1)];
        assert_eq!(
            plan(&recent, 3 * MIB, &Retention::default(), 20_000 * DAY),
            [0]
        );
        let blocks = [block(-10_000, 1), block(0, 1), block(20_000, 1)];
        let forever = Retention {
            frozen_time_period_in_secs: u64::MAX,
            max_total_data_size_mb: u64::MAX,
        };
        assert!(plan(&blocks, u64::MAX, &forever, i64::MAX).is_empty());
        // No room at all: everything sealed goes; an age of 0 keeps only what is not older
        // than now.
        assert_eq!(plan(&blocks, 3 * MIB, &retention(10_000, 0), 0), [0, 1, 2]);
        assert_eq!(plan(&blocks, 3 * MIB, &retention(0, 1_000), 0), [0]);
    }

    #[test]
    fn settings_are_whole_numbers_by_their_splunk_names() {
        let mut retention = Retention::default();
        retention.set("maxTotalDataSizeMB", " 20 ").unwrap();
        assert_eq!(retention.max_total_data_size_mb, 20);
        for bad in ["", "-1", "+5", "1.5", "1e3", "ten", "18446744073709551616"] {
            let err = retention.set("frozenTimePeriodInSecs", bad).unwrap_err();
            assert!(
                matches!(err, RetentionError::Invalid { .. }),
                "{bad:?}: {err}"
            );
            assert!(err.to_string().contains("whole number of seconds"), "{err}");
        }
        assert_eq!(retention.frozen_time_period_in_secs, 188_697_600);
        let err = retention.set("maxDataSize", "auto").unwrap_err();
        assert_eq!(err, RetentionError::Unknown("maxDataSize".into()));
        assert!(err.to_string().contains("frozenTimePeriodInSecs"), "{err}");
    }
}
