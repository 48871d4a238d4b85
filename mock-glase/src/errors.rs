//! How an error is shown to a person: the one chain printer of the workspace's mock and
//! suite (the suite imports it from here), which is the accept loop's own: both servers
//! log a closed connection's causes with it. `{e}` on an error that keeps its cause as a
//! `source` prints only its own message; this prints every cause.

pub use glase_listen::error_chain;
