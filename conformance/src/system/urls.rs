//! What makes an endpoint URL usable, checked before anything starts: a usage error
//! (exit 2) that names the option, never an "unreachable" (exit 3) after a connection
//! attempt that could not have worked.

use reqwest::Url;

/// Checks an endpoint URL given to `option`: absolute, `http` or `https`, with a host.
/// `create_purchase`: the path must also end with `createPurchase` (seed 000: the URL
/// "has to … end with 'createPurchase'").
pub(crate) fn check(option: &str, text: &str, create_purchase: bool) -> Result<(), String> {
    let url = Url::parse(text.trim()).map_err(|error| {
        let hint =
            if text.contains("://") { String::new() } else { " (with its scheme: http://host:port/…)".to_owned() };
        format!("{option} {text:?} is not an absolute URL{hint}: {error}")
    })?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!("{option} {text:?}: the scheme must be http or https, not {:?}", url.scheme()));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(format!("{option} {text:?} names no host"));
    }
    if create_purchase && !url.path().trim_end_matches('/').ends_with("createPurchase") {
        return Err(format!("{option} {text:?} must end with createPurchase (seed 000, spec 2.1)"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::check;

    #[test]
    fn usable_urls_pass() {
        assert_eq!(check("--machine-driver", "http://127.0.0.1:8000", false), Ok(()));
        assert_eq!(check("--create-purchase-url", "https://shop.example/seqr/createPurchase", true), Ok(()));
    }

    #[test]
    fn each_problem_names_the_option_and_the_fix() {
        let typo = check("--machine-driver", "htp://127.0.0.1:8000", false).expect_err("bad scheme");
        assert!(typo.starts_with("--machine-driver") && typo.contains("\"htp\""), "{typo}");
        let bare = check("--shop-driver", "127.0.0.1:8000", false).expect_err("no scheme");
        assert!(bare.contains("--shop-driver") && bare.contains("http://host:port"), "{bare}");
        let path = check("--create-purchase-url", "http://127.0.0.1:8000/seqr/purchase", true).expect_err("path");
        assert!(path.contains("must end with createPurchase"), "{path}");
        assert!(check("--shop-driver", "http://", false).is_err());
    }
}
