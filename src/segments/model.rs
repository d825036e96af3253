//! Segments: named rules that pick customers. Membership is worked out whenever a segment is used, so it follows
//! the customers' data. The rule model is in [`rules`]; the original app's shape in [`legacy`].

use serde::{Deserialize, Serialize};

use super::rules::RuleGroup;
use crate::campaigns::model::CampaignStatus;
use crate::{customers::model::CustomerRow, shared::error::AppError};

const MAX_NAME_LENGTH: usize = 100;
const MAX_DESCRIPTION_LENGTH: usize = 500;

/// What a person saves: the name, a note on what the segment is for, and the rule.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SegmentDraft {
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub rule: RuleGroup,
}

impl SegmentDraft {
    /// The draft with its name and description trimmed, or the first field at fault.
    pub fn cleaned(self) -> Result<Self, AppError> {
        let name = self.name.trim().to_owned();
        if name.is_empty() {
            return Err(AppError::invalid("name", "Give the segment a name."));
        }
        if name.chars().count() > MAX_NAME_LENGTH {
            return Err(AppError::invalid(
                "name",
                format!("A name has at most {MAX_NAME_LENGTH} characters."),
            ));
        }
        let description = self.description.trim().to_owned();
        if description.chars().count() > MAX_DESCRIPTION_LENGTH {
            return Err(AppError::invalid(
                "description",
                format!("A description has at most {MAX_DESCRIPTION_LENGTH} characters."),
            ));
        }
        Ok(Self {
            name,
            description,
            rule: self.rule,
        })
    }
}

/// The audience of a rule now: how many customers match and a few of them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AudiencePreview {
    pub count: u64,
    pub sample: Vec<CustomerRow>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SegmentSummary {
    pub id: String,
    pub name: String,
    pub description: String,
    pub summary: String,
    /// The size when last counted, and when that was.
    pub size: Option<u64>,
    pub counted_at: Option<String>,
    pub updated_at: String,
}

/// A campaign that targets a segment, as far as the segment page needs to know it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SegmentUse {
    pub campaign_id: String,
    pub campaign_name: String,
    pub status: CampaignStatus,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SegmentDetail {
    pub id: String,
    pub name: String,
    pub description: String,
    pub rule: RuleGroup,
    pub summary: String,
    pub created_at: String,
    pub created_by: String,
    pub updated_at: String,
    pub used_by: Vec<SegmentUse>,
}

/// Figures about a segment's members now, and its size on each day a snapshot was taken.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SegmentAnalytics {
    pub size: u64,
    pub total_spend_cents: i64,
    pub average_spend_cents: i64,
    /// Label of each spend band and how many members fall in it.
    pub spend_bands: Vec<(String, u64)>,
    pub order_count_bands: Vec<(String, u64)>,
    pub top_cities: Vec<(String, u64)>,
    /// `YYYY-MM-DD` and the size counted that day.
    pub daily_sizes: Vec<(String, u64)>,
}
