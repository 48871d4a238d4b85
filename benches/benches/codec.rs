//! The codec per operation: decode of the canonical request fixtures (what the mock does
//! for every call) and encode of the responses (what it sends back), `Throughput::Bytes`.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use glase_protocol::{Reply, decode_reply, decode_request, encode_response};

macro_rules! fixture {
    ($name:literal) => {
        ($name, include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../scenarios/fixtures/", $name)))
    };
}

const REQUESTS: &[(&str, &str)] = &[
    fixture!("sendInvoice.request.xml"),
    fixture!("sendInvoice.webshop.request.xml"),
    fixture!("getPaymentStatus.request.xml"),
    fixture!("updateInvoice.request.xml"),
    fixture!("commitReservation.amount.request.xml"),
    fixture!("cancelInvoice.request.xml"),
    fixture!("refundPayment.request.xml"),
    fixture!("submitPaymentReceipt.request.xml"),
];

const RESPONSES: &[(&str, &str)] = &[
    fixture!("sendInvoice.response.xml"),
    fixture!("getPaymentStatus.paid.response.xml"),
    fixture!("getPaymentStatus.reserved.response.xml"),
    fixture!("commitReservation.response.xml"),
    fixture!("executeReport.response.xml"),
];

fn decode(c: &mut Criterion) {
    let mut group = c.benchmark_group("codec/decode_request");
    for (name, xml) in REQUESTS {
        group.throughput(Throughput::Bytes(xml.len() as u64));
        group.bench_function(name.trim_end_matches(".request.xml"), |b| {
            b.iter(|| decode_request(xml.as_bytes()).expect("fixtures decode"))
        });
    }
    group.finish();
}

fn encode(c: &mut Criterion) {
    let mut group = c.benchmark_group("codec/encode_response");
    for (name, xml) in RESPONSES {
        let Ok(Reply::Response(response)) = decode_reply(xml.as_bytes()) else { panic!("{name} is a response") };
        let mut out = Vec::with_capacity(2048);
        encode_response(&response, &mut out);
        group.throughput(Throughput::Bytes(out.len() as u64));
        group.bench_function(name.trim_end_matches(".response.xml"), |b| {
            b.iter(|| {
                out.clear();
                encode_response(&response, &mut out);
                out.len()
            })
        });
    }
    group.finish();
}

criterion_group!(benches, decode, encode);
criterion_main!(benches);
