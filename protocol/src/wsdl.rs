//! The WSDL the mock serves (being written).
