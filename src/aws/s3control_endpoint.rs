//! The S3 Control endpoint used against emulators.
//!
//! S3 Control's endpoint rules put the account id in the host name (`123456789012.s3-control…`). With a
//! custom endpoint such as `http://127.0.0.1:4566` that becomes `123456789012.127.0.0.1`, which does not
//! resolve. This resolver returns the custom endpoint unchanged; it is installed only when the SDK
//! resolves a custom endpoint for S3 Control (`--endpoint-url`, `AWS_ENDPOINT_URL[_S3_CONTROL]`, a
//! profile's `endpoint_url`), never for AWS's own.

use aws_sdk_s3control::config::endpoint::{Endpoint, EndpointFuture, Params, ResolveEndpoint};

#[derive(Debug)]
pub(super) struct FixedEndpoint {
    url: String,
}

impl FixedEndpoint {
    pub(super) fn new(url: &str) -> Self {
        FixedEndpoint { url: url.trim_end_matches('/').to_string() }
    }
}

impl ResolveEndpoint for FixedEndpoint {
    fn resolve_endpoint<'a>(&'a self, _params: &'a Params) -> EndpointFuture<'a> {
        EndpointFuture::ready(Ok(Endpoint::builder().url(self.url.clone()).build()))
    }
}
