//! Shapes of command a person refused for one trigger. The engine records one
//! when a person says no to a trigger's job; the next jobs of that trigger
//! list them in their prompt as "refused before", newest first and bounded,
//! so the model stops proposing them.

use rusqlite::{Row, params};
use serde::Serialize;

use crate::error::{SqliteResultExt, StoreError};
use crate::store::Store;
use crate::timestamp::now_rfc3339;

/// A refusal as the engine records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRefusedShape {
    /// The trigger whose job proposed it: its later jobs are told.
    pub trigger: String,
    /// The grant-style pattern of the argv (`rm old/*.txt`): one row each.
    pub shape: String,
    /// The argv the model proposed (untrusted data).
    pub argv: Vec<String>,
    /// Why the person refused, if they said.
    pub reason: Option<String>,
    /// The job in which the person refused it.
    pub job_id: Option<i64>,
}

/// One remembered refused shape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RefusedShape {
    /// The row id.
    pub id: i64,
    /// The trigger it was refused for.
    pub trigger: String,
    /// The grant-style pattern of the refused argvs.
    pub shape: String,
    /// The newest refused argv of this shape.
    pub argv: Vec<String>,
    /// The newest reason given (a refusal without one keeps the older).
    pub reason: Option<String>,
    /// The job of the newest refusal.
    pub job_id: Option<i64>,
    /// When it was last refused (RFC 3339).
    pub refused_at: String,
    /// How many times this shape was refused for the trigger.
    pub times: i64,
}

impl Store {
    /// Records a refusal: inserts the (trigger, shape) row or refreshes it
    /// (newest argv and time, the new reason if one was given, one more time).
    pub fn record_refused_shape(&self, new: &NewRefusedShape) -> Result<(), StoreError> {
        let argv = serde_json::Value::from(new.argv.clone()).to_string();
        self.conn
            .execute(
                "INSERT INTO refused_shapes (trigger, shape, argv, reason, job_id, refused_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6) \
                 ON CONFLICT (trigger, shape) DO UPDATE SET argv = excluded.argv, \
                 reason = COALESCE(excluded.reason, refused_shapes.reason), \
                 job_id = excluded.job_id, refused_at = excluded.refused_at, \
                 times = refused_shapes.times + 1",
                params![
                    new.trigger,
                    new.shape,
                    argv,
                    new.reason,
                    new.job_id,
                    now_rfc3339()
                ],
            )
            .at(&self.path)?;
        Ok(())
    }

    /// The trigger's refused shapes, newest first, at most `limit`. A row
    /// whose argv does not decode is skipped (it cannot be shown as data).
    pub fn refused_shapes(
        &self,
        trigger: &str,
        limit: usize,
    ) -> Result<Vec<RefusedShape>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT id, trigger, shape, argv, reason, job_id, refused_at, times \
                 FROM refused_shapes WHERE trigger = ?1 \
                 ORDER BY refused_at DESC, id DESC LIMIT ?2",
            )
            .at(&self.path)?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = stmt
            .query_map(params![trigger, limit], raw_row)
            .at(&self.path)?;
        let mut shapes = Vec::new();
        for row in rows {
            let (raw_argv, mut shape) = row.at(&self.path)?;
            if let Ok(argv) = serde_json::from_str(&raw_argv) {
                shape.argv = argv;
                shapes.push(shape);
            }
        }
        Ok(shapes)
    }
}

fn raw_row(row: &Row<'_>) -> rusqlite::Result<(String, RefusedShape)> {
    Ok((
        row.get(3)?,
        RefusedShape {
            id: row.get(0)?,
            trigger: row.get(1)?,
            shape: row.get(2)?,
            argv: Vec::new(),
            reason: row.get(4)?,
            job_id: row.get(5)?,
            refused_at: row.get(6)?,
            times: row.get(7)?,
        },
    ))
}
