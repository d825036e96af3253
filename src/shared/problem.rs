//! What is wrong with a submitted value: the path of the field at fault (`amount`, `items[2].quantity`,
//! `customers[4].email`) and what is wrong with it. Every check of submitted data answers with this one shape, so
//! nothing has to take a message apart to find the field.

use serde::{Deserialize, Serialize};

use crate::shared::error::AppError;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    pub field: String,
    pub message: String,
}

impl Problem {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }

    /// The same problem seen from the list holding the record: `email` of row 4 of `customers` is
    /// `customers[4].email`.
    pub fn in_row(self, list: &str, index: usize) -> Self {
        Self {
            field: format!("{list}[{index}].{}", self.field),
            ..self
        }
    }
}

/// The whole sentence, as a rejected row's reason or a log line shows it: `amount: must be greater than 0`.
impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// A refused request names the field, and its message is the whole sentence.
impl From<Problem> for AppError {
    fn from(problem: Problem) -> Self {
        AppError::Invalid {
            message: problem.to_string(),
            field: problem.field,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_problem_in_a_row_names_the_row_and_reads_as_one_sentence() {
        let problem = Problem::new("email", "is not an email address").in_row("customers", 4);
        assert_eq!(problem.field, "customers[4].email");
        assert_eq!(
            problem.to_string(),
            "customers[4].email: is not an email address"
        );
        assert_eq!(
            AppError::from(problem)
                .for_field("customers[4].email")
                .as_deref(),
            Some("customers[4].email: is not an email address")
        );
    }
}
