//! The sandbox console: a web page at `/console` to play the customer and watch the
//! journal live (docs/mock.md, "The sandbox console"). Its files are embedded in the
//! binary, so it works offline and needs no build step; it talks to the mock only
//! through the control and journal APIs, like any other client.

use axum::Router;
use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;

use super::state::AppState;

/// One embedded file of the console.
struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static str,
}

const HTML: &str = "text/html; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";

/// `console/<name>`, embedded, with its content type.
macro_rules! asset {
    ($name:literal, $content_type:expr) => {
        Asset { name: $name, content_type: $content_type, body: include_str!(concat!("../../console/", $name)) }
    };
}

/// Every file the page loads, by the name it is served under.
const ASSETS: &[Asset] = &[
    asset!("index.html", HTML),
    asset!("console.css", CSS),
    asset!("api.js", JS),
    asset!("html.js", JS),
    asset!("lanes.js", JS),
    asset!("timeline.js", JS),
    asset!("detail.js", JS),
    asset!("machines.js", JS),
    asset!("phone.js", JS),
    asset!("controls.js", JS),
    asset!("main.js", JS),
];

pub fn routes() -> Router<AppState> {
    Router::new()
        // Relative, so a mock behind a proxy's path prefix redirects within it.
        .route("/console", get(|| async { Redirect::permanent("console/") }))
        .route("/console/", get(|| async { asset("index.html") }))
        .route("/console/{file}", get(|Path(file): Path<String>| async move { asset(&file) }))
}

fn asset(name: &str) -> Response {
    match ASSETS.iter().find(|a| a.name == name) {
        Some(asset) => (
            [
                (header::CONTENT_TYPE, asset.content_type),
                // The files change only with the binary; a page that reloads gets the
                // binary's own version.
                (header::CACHE_CONTROL, "no-cache"),
                // Nothing but the mock itself: the console works offline and loads no
                // third-party code. Inline style attributes place the timeline's rows and
                // arrows; scripts stay 'self' only.
                (
                    header::CONTENT_SECURITY_POLICY,
                    "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'",
                ),
                (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            ],
            asset.body,
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, format!("the console has no file {name:?}\n")).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_module_the_page_imports_is_embedded() {
        let mut wanted = Vec::new();
        for asset in ASSETS {
            for line in asset.body.lines() {
                // `import … from "./x.js";` and `<script type="module" src="x.js">`.
                for marker in ["from \"./", "src=\"", "href=\""] {
                    if let Some(rest) = line.split_once(marker).map(|(_, rest)| rest)
                        && let Some((file, _)) = rest.split_once('"')
                        && (file.ends_with(".js") || file.ends_with(".css"))
                    {
                        wanted.push(file.trim_start_matches("./").to_owned());
                    }
                }
            }
        }
        assert!(wanted.len() >= ASSETS.len() - 1, "{wanted:?}");
        for file in wanted {
            assert!(ASSETS.iter().any(|a| a.name == file), "{file} is loaded but not embedded");
        }
    }

    #[tokio::test]
    async fn the_bare_path_redirects_relatively_to_the_page() {
        use tower::ServiceExt as _;
        let clock = std::sync::Arc::new(crate::OffsetClock::new());
        let mock = crate::Mock::new(&crate::Config::default(), clock).expect("the demo configuration is valid");
        let state = AppState { mock, public_url: None };
        let request = axum::http::Request::get("/console").body(axum::body::Body::empty()).expect("a request");
        let response = routes().with_state(state).oneshot(request).await.expect("the router answers");
        assert_eq!(response.status(), StatusCode::PERMANENT_REDIRECT);
        assert_eq!(response.headers()[header::LOCATION], "console/");
    }

    #[test]
    fn an_unknown_file_is_404_and_a_known_one_has_its_type() {
        assert_eq!(asset("../Cargo.toml").status(), StatusCode::NOT_FOUND);
        let page = asset("index.html");
        assert_eq!(page.status(), StatusCode::OK);
        assert_eq!(page.headers()[header::CONTENT_TYPE], "text/html; charset=utf-8");
        assert_eq!(asset("main.js").headers()[header::CONTENT_TYPE], "text/javascript; charset=utf-8");
    }
}
