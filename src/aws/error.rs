//! The error of one AWS call, keeping what an operator needs to act on it.
//!
//! An [`AwsError`] names the call (`kms:CreateKey`), the AWS error code and message, and the request id
//! when AWS sent one. It is built from the SDK's error types, never by matching error strings; the
//! helpers below answer the few questions controls ask of an error ("does not exist", "not available
//! at this endpoint").

use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use aws_types::request_id::RequestId;

/// One failed AWS call.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{operation} failed: {}{message}{}", code.as_deref().map(|c| format!("{c}: ")).unwrap_or_default(), request_id.as_deref().map(|r| format!(" (request id {r})")).unwrap_or_default())]
pub struct AwsError {
    /// `service:Operation`.
    pub operation: String,
    /// AWS error code (`AccessDenied`, `NoSuchEntity`, ...), when the service answered with one.
    pub code: Option<String>,
    pub message: String,
    pub request_id: Option<String>,
    /// HTTP status of the response, when there was one.
    pub status: Option<u16>,
}

impl AwsError {
    /// True when AWS answered with the error code `code` (`InvalidInstanceID.NotFound`, ...).
    pub fn is_code(&self, code: &str) -> bool {
        self.code.as_deref() == Some(code)
    }

    /// Converts an SDK error, keeping code, message, request id and status.
    pub fn from_sdk<E, R>(operation: &str, error: SdkError<E, R>) -> AwsError
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
        R: std::fmt::Debug + HttpStatus,
        SdkError<E, R>: RequestId,
    {
        let request_id = error.request_id().map(str::to_string);
        let status = error.raw_response().map(HttpStatus::status_code);
        let converted = match &error {
            SdkError::ServiceError(service) => {
                let inner = service.err();
                AwsError {
                    operation: operation.to_string(),
                    code: inner.code().map(str::to_string),
                    message: inner.message().map(str::to_string).unwrap_or_else(|| DisplayErrorContext(inner).to_string()),
                    request_id,
                    status,
                }
            }
            _ => AwsError {
                operation: operation.to_string(),
                code: None,
                message: DisplayErrorContext(&error).to_string(),
                request_id,
                status,
            },
        };
        if converted.is_unavailable() {
            let service = operation.split(':').next().unwrap_or(operation);
            return AwsError { message: format!("{service} is not available at this endpoint ({})", converted.message), ..converted };
        }
        converted
    }

    /// A response that did not carry what the API promises.
    pub fn malformed(operation: &str, what: &str) -> AwsError {
        AwsError { operation: operation.to_string(), code: None, message: format!("malformed response: {what}"), request_id: None, status: None }
    }

    /// True when the service answered with this error code.
    pub fn has_code(&self, code: &str) -> bool {
        self.code.as_deref() == Some(code)
    }

    /// True when the endpoint does not implement the service or operation (an emulator's gap, or a
    /// service not offered in the region): HTTP 501, or 404 without an AWS error code.
    pub fn is_unavailable(&self) -> bool {
        matches!(self.status, Some(501)) || (self.status == Some(404) && self.code.is_none())
    }
}

/// The HTTP status of a raw response, whatever the response type.
pub trait HttpStatus {
    fn status_code(&self) -> u16;
}

impl HttpStatus for aws_smithy_runtime_api::client::orchestrator::HttpResponse {
    fn status_code(&self) -> u16 {
        self.status().as_u16()
    }
}

/// `result.named("kms:CreateKey")`: converts an SDK result's error into an [`AwsError`] naming the call.
pub trait NameCall<T> {
    fn named(self, operation: &str) -> Result<T, AwsError>;
}

impl<T, E, R> NameCall<T> for Result<T, SdkError<E, R>>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + HttpStatus,
    SdkError<E, R>: RequestId,
{
    fn named(self, operation: &str) -> Result<T, AwsError> {
        self.map_err(|e| AwsError::from_sdk(operation, e))
    }
}
