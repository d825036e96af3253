//! The kinds of records Realm keeps: their names and where their pages are.

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum RecordKind {
    Customers,
    Orders,
    Segments,
    Campaigns,
}

impl RecordKind {
    pub const ALL: [RecordKind; 4] = [
        RecordKind::Customers,
        RecordKind::Orders,
        RecordKind::Segments,
        RecordKind::Campaigns,
    ];

    pub fn title(self) -> &'static str {
        match self {
            RecordKind::Customers => "Customers",
            RecordKind::Orders => "Orders",
            RecordKind::Segments => "Segments",
            RecordKind::Campaigns => "Campaigns",
        }
    }

    /// The lower-case noun for `count` records, e.g. "1 order", "2 orders".
    pub fn count_label(self, count: u64) -> String {
        let plural = self.title().to_lowercase();
        let noun = if count == 1 {
            plural.trim_end_matches('s')
        } else {
            plural.as_str()
        };
        format!("{count} {noun}")
    }

    pub fn href(self) -> &'static str {
        match self {
            RecordKind::Customers => "/customers",
            RecordKind::Orders => "/orders",
            RecordKind::Segments => "/segments",
            RecordKind::Campaigns => "/campaigns",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn count_label_agrees_with_the_number() {
        assert_eq!(RecordKind::Orders.count_label(0), "0 orders");
        assert_eq!(RecordKind::Orders.count_label(1), "1 order");
        assert_eq!(RecordKind::Customers.count_label(1), "1 customer");
        assert_eq!(RecordKind::Campaigns.count_label(12), "12 campaigns");
    }
}
