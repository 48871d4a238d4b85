//! The devkit's tests, one binary (one link instead of two):
//! - [`architecture`]: the workspace's architecture rules, kept on every change;
//! - [`browser`] (feature `browser`): the headless-Chromium driver.

mod architecture;
#[cfg(feature = "browser")]
mod browser;
