//! The kinds of records Realm keeps: their names and where their pages are.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
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

    pub fn href(self) -> &'static str {
        match self {
            RecordKind::Customers => "/customers",
            RecordKind::Orders => "/orders",
            RecordKind::Segments => "/segments",
            RecordKind::Campaigns => "/campaigns",
        }
    }
}
