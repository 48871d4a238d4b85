//! The state machine's test suite (spec 3.5, 4 and 9), driven directly: requests go in
//! with an explicit timestamp, customers act through the machine's methods, and time
//! only moves when a test moves it.

mod customer;
mod deadlines;
mod faults;
mod props;
mod reports;
mod result_codes;
mod robustness;
mod support;
mod terminals;
mod transitions;
mod ups;
