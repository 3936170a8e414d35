//! A sort's model step hears a person's refusal in the same job: when a
//! person refuses a move the model picked for a file, the model is asked
//! again for that file only, told which folder was refused and why (the
//! agent loop's words), and offered the folders nobody refused. The refused
//! folder is not in the grammar, so the same move is never proposed or asked
//! again; a pick that does not fit leaves the file where it is.

use leash_llm::{ChatMessage, Transfer};

use crate::derive::LEAVE;
use crate::error::SkillError;
use crate::run::SkillReport;
use crate::shape::{Answer, Question};

/// A move a person refused, and what the model hears about it.
#[derive(Debug, Clone)]
pub(crate) struct RefusedMove {
    item: String,
    folder: String,
    heard: String,
}

impl RefusedMove {
    /// The refusal of the move `transfer` (`SOURCE/item` → `folder/item`).
    pub(crate) fn of(transfer: &Transfer, heard: String) -> RefusedMove {
        RefusedMove {
            item: transfer
                .from
                .file_name()
                .map(|name| name.to_string_lossy().into_owned())
                .unwrap_or_default(),
            folder: transfer
                .to
                .parent()
                .map(|dir| dir.to_string_lossy().into_owned())
                .unwrap_or_default(),
            heard,
        }
    }
}

/// Asks again (through `ask_once`) for each refused file whose folder the
/// model picked; returns the new placements (never the refused folder,
/// never `leave`).
pub(crate) fn placed_again(
    refused: &[RefusedMove],
    messages: &[ChatMessage],
    report: &mut SkillReport,
    mut ask_once: impl FnMut(
        &[ChatMessage],
        &Question,
        &mut SkillReport,
    ) -> Result<Result<Answer, String>, SkillError>,
) -> Result<Vec<(String, String)>, SkillError> {
    let mut placed = Vec::new();
    for refusal in refused {
        let Some(offered) = report
            .picked_by_model
            .iter()
            .find(|(item, _)| *item == refusal.item)
            .map(|(_, options)| options.clone())
        else {
            // leash placed it without the model: there is no pick to redo.
            continue;
        };
        let options: Vec<String> = offered
            .into_iter()
            .filter(|option| *option != refusal.folder)
            .collect();
        if options.iter().all(|option| option == LEAVE) {
            continue;
        }
        let mut asked = messages.to_vec();
        if let Some(last) = asked.last_mut() {
            last.content.push_str(&format!(
                "\nNow the file {item}: which folder? You chose {folder} before. {heard}\nAnswer {{\"{item}\": FOLDER}}.",
                item = refusal.item,
                folder = refusal.folder,
                heard = refusal.heard,
            ));
        }
        let one = Question::PerItem {
            items: vec![refusal.item.clone()],
            options,
        };
        if let Ok(Answer::Placed(picks)) = ask_once(&asked, &one, report)? {
            placed.extend(
                picks
                    .into_iter()
                    .filter(|(_, folder)| folder != LEAVE && *folder != refusal.folder),
            );
        }
    }
    Ok(placed)
}
