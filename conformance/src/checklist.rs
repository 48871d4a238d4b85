//! The certification checklists: the steps Glase's certification walks through (spec
//! section 7 for webshops and points of sale) and, for unattended machines, the seed's
//! eleven flow steps and five createPurchase error codes (spec 2.1).
//!
//! A scenario says which items it exercises with `covers: [unattended/3, webshop/5]`
//! (validated when it loads: an unknown item is a file error); the HTML report shows each
//! item with the scenarios that cover it. Nothing is guessed from scenario names, so a
//! report never says "not covered" about something a run did cover, nor counts a
//! scenario for an item it does not exercise.

/// One item of a checklist.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChecklistItem {
    /// `unattended`, `webshop` or `pos`.
    pub profile: &'static str,
    /// The step's number in the procedure (`1`…), `pre`, or the createPurchase error code.
    pub step: &'static str,
    /// The certification test, as spec section 7 (or 2.1) words it.
    pub test: &'static str,
}

impl ChecklistItem {
    /// How scenario files name it: `unattended/3`, `unattended/DEVICE_IN_USE`.
    pub fn id(&self) -> String {
        format!("{}/{}", self.profile, self.step)
    }
}

/// A profile's checklist heading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProfileInfo {
    pub name: &'static str,
    pub heading: &'static str,
}

/// The profiles with a checklist, in report order.
pub const PROFILES: &[ProfileInfo] = &[
    ProfileInfo { name: "unattended", heading: "Unattended machines (spec 2.1: the seed's flow and error codes)" },
    ProfileInfo { name: "webshop", heading: "Webshop (spec 7, webshop certification)" },
    ProfileInfo { name: "pos", heading: "Point of sale (spec 7, point-of-sale certification)" },
];

macro_rules! item {
    ($profile:literal, $step:literal, $test:literal) => {
        ChecklistItem { profile: $profile, step: $step, test: $test }
    };
}

/// Every checklist item.
#[rustfmt::skip]
pub const CHECKLIST: &[ChecklistItem] = &[
    // Unattended: the seed's eleven steps (spec 2.1) …
    item!("unattended", "1", "Customer scans the machine's QR code HTTP://SEQR.SE/000/ups?w=<merchantId>&t=<token>"),
    item!("unattended", "2", "The UPS calls the reseller's createPurchase with token, amount, currency, msisdn"),
    item!("unattended", "3", "Reseller calls sendInvoice (reservation, total ≤ amount, notificationUrl) and answers with its invoiceReference"),
    item!("unattended", "4", "Reservation details are presented to the customer"),
    item!("unattended", "5", "Customer confirms or cancels the reservation with PIN"),
    item!("unattended", "6", "Glase calls the notificationUrl (empty POST answered 200 OK)"),
    item!("unattended", "7", "Reseller calls getPaymentStatus; proceeds only on RESERVED"),
    item!("unattended", "8", "Reseller unlocks the machine (only after RESERVED; released after CANCELED)"),
    item!("unattended", "9", "Customer chooses products (an idle reservation is cancelled)"),
    item!("unattended", "10", "Reseller calls updateInvoice with the final rows and totalAmount"),
    item!("unattended", "11", "Reseller calls commitReservation with the final amount (≤ reserved)"),
    // … and the five createPurchase error codes.
    item!("unattended", "INSUFFICIENT_FUNDS", "createPurchase answers INSUFFICIENT_FUNDS when the amount is below the cheapest product"),
    item!("unattended", "DEVICE_IN_USE", "createPurchase answers DEVICE_IN_USE while another customer is using the machine"),
    item!("unattended", "DEVICE_UNAVAILABLE", "createPurchase answers DEVICE_UNAVAILABLE when the machine is out of service or unknown"),
    item!("unattended", "INVOICING_ERROR", "createPurchase answers INVOICING_ERROR when sendInvoice fails"),
    item!("unattended", "SYSTEM_ERROR", "createPurchase answers SYSTEM_ERROR on any other error"),
    // Webshop certification (spec 7).
    item!("webshop", "1", "sendInvoice with rows (itemQuantity, itemTotalAmount), clientReference, clientRequestTimeout"),
    item!("webshop", "2", "getPaymentStatus before scan; scan; getPaymentStatus; repeat sendInvoice; wait 30 s; getPaymentStatus on the previous reference"),
    item!("webshop", "3", "submitPaymentReceipt after PAID"),
    item!("webshop", "4", "sendInvoice, getPaymentStatus, cancelInvoice"),
    item!("webshop", "5", "sendInvoice, getPaymentStatus, scan, getPaymentStatus, refundPayment"),
    item!("webshop", "6", "markTransactionPeriod at closing"),
    // Point-of-sale certification (spec 7).
    item!("pos", "pre", "Prerequisite: clientId = company name, clientReference = system name and version"),
    item!("pos", "1", "registerTerminal (RESELLERUSER; set the terminal password)"),
    item!("pos", "2", "assignSeqrId (clientReference set, clientRequestTimeout 0)"),
    item!("pos", "3", "sendInvoice with at least itemQuantity and itemTotalAmount per row"),
    item!("pos", "4", "getPaymentStatus before scanning; scan; getPaymentStatus; repeat sendInvoice; wait 30 s; getPaymentStatus on the previous reference"),
    item!("pos", "5", "submitPaymentReceipt after PAID (empty or base64 HTML/XML receipt)"),
    item!("pos", "6", "sendInvoice, getPaymentStatus, cancelInvoice"),
    item!("pos", "7", "sendInvoice, getPaymentStatus, scan, getPaymentStatus, refundPayment"),
    item!("pos", "8", "markTransactionPeriod at closing"),
    item!("pos", "9", "unregisterTerminal"),
];

/// The item a scenario file names (`unattended/3`), if there is one.
pub fn find(id: &str) -> Option<&'static ChecklistItem> {
    let (profile, step) = id.trim().split_once('/')?;
    CHECKLIST.iter().find(|i| i.profile == profile && i.step.eq_ignore_ascii_case(step))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_are_found_by_their_ids_and_are_unique() {
        assert_eq!(find("unattended/11").map(|i| i.step), Some("11"));
        assert_eq!(find("unattended/device_in_use").map(|i| i.step), Some("DEVICE_IN_USE"));
        assert!(find("webshop/7").is_none() && find("kiosk/1").is_none() && find("nonsense").is_none());
        let mut ids: Vec<String> = CHECKLIST.iter().map(ChecklistItem::id).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), CHECKLIST.len());
        let count = |p: &str| CHECKLIST.iter().filter(|i| i.profile == p).count();
        assert_eq!((count("unattended"), count("webshop"), count("pos")), (16, 6, 10));
    }
}
