//! The engine's front ends: the webshop and the point-of-sale till.

/// Which front end an engine instance serves; stored with each order (`channel`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Channel {
    /// The webshop: customer pages, notificationUrl, backURL, ids `W…`.
    Web,
    /// The point-of-sale till: no pages, no notificationUrl (the till polls), ids `P…`.
    Till,
}

impl Channel {
    pub(crate) const fn as_str(self) -> &'static str {
        match self {
            Self::Web => "web",
            Self::Till => "till",
        }
    }

    /// First letter of this channel's order ids.
    pub(crate) const fn id_prefix(self) -> char {
        match self {
            Self::Web => 'W',
            Self::Till => 'P',
        }
    }

    /// What people call one order: in invoice titles, refund titles, receipts.
    pub(crate) const fn noun(self) -> &'static str {
        match self {
            Self::Web => "order",
            Self::Till => "sale",
        }
    }
}
