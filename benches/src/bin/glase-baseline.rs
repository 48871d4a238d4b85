//! `glase-baseline`: the trivial axum server `scripts/bench-http` measures mock-glase
//! against. Every `POST` to a SOAP endpoint gets the same canned sendInvoice answer,
//! encoded by the same codec as the mock's (so it has the same size and headers), with
//! no decoding, no state and no journal: what axum and hyper cost on their own.
//!
//! ```text
//! glase-baseline [--listen 127.0.0.1:0]   # prints "listening on ADDR" once bound
//! glase-baseline --print-body              # prints the canned answer and exits
//! ```

use std::net::SocketAddr;
use std::process::ExitCode;

use axum::Router;
use axum::http::header;
use axum::routing::post;
use glase_protocol::{Reply, ResponseDetail, decode_reply, encode_response};

/// The answer the mock gives a successful sendInvoice (see the fixture's README).
const FIXTURE: &str =
    include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../scenarios/fixtures/sendInvoice.response.xml"));

/// An invoice reference as long as the mock's (17 digits), so the answers are equally long.
const REFERENCE: &str = "13972404606680001";

fn canned_body() -> Vec<u8> {
    // The fixture is checked by the codec tests; it is a response.
    let Ok(Reply::Response(mut response)) = decode_reply(FIXTURE.as_bytes()) else {
        unreachable!("the sendInvoice fixture decodes to a response")
    };
    response.detail = ResponseDetail::SendInvoice {
        invoice_qr_code: Some(format!("HTTP://SEQR.SE/R{REFERENCE}")),
        invoice_reference: Some(REFERENCE.to_owned()),
    };
    let mut body = Vec::with_capacity(512);
    encode_response(&response, &mut body);
    body
}

fn main() -> ExitCode {
    let mut listen: SocketAddr = SocketAddr::from(([127, 0, 0, 1], 0));
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--print-body" => {
                print!("{}", String::from_utf8_lossy(&canned_body()));
                return ExitCode::SUCCESS;
            }
            "--listen" => match args.next().and_then(|a| a.parse().ok()) {
                Some(addr) => listen = addr,
                None => return usage("--listen needs an address like 127.0.0.1:8080"),
            },
            other => return usage(&format!("unknown argument {other:?}")),
        }
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("glase-baseline: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(serve(listen)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("glase-baseline: {error}");
            ExitCode::FAILURE
        }
    }
}

fn usage(problem: &str) -> ExitCode {
    eprintln!("glase-baseline: {problem}\nusage: glase-baseline [--listen ADDR] | --print-body");
    ExitCode::from(2)
}

async fn serve(listen: SocketAddr) -> std::io::Result<()> {
    let body = axum::body::Bytes::from(canned_body());
    let answer = move || {
        let body = body.clone();
        async move { ([(header::CONTENT_TYPE, "text/xml; charset=utf-8")], body) }
    };
    let app = Router::new()
        .route("/extclientproxy/service/v2", post(answer.clone()))
        .route("/soap/merchant/cashregister-2", post(answer));
    let listener = tokio::net::TcpListener::bind(listen).await?;
    println!("listening on {}", listener.local_addr()?);
    axum::serve(listener, app).await
}
