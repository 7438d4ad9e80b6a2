//! Classification of SDK errors into the engine's [`CloudError`].

use aws_credential_types::provider::error::CredentialsError;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use crate::engine::{CloudError, ErrorKind};

const THROTTLING_CODES: &[&str] = &[
    "RequestLimitExceeded",
    "Throttling",
    "ThrottlingException",
    "TooManyRequestsException",
    "RequestThrottled",
    "RequestThrottledException",
    "SlowDown",
];
const ACCESS_DENIED_CODES: &[&str] = &[
    "UnauthorizedOperation",
    "AccessDenied",
    "AccessDeniedException",
    "AuthFailure",
    "InvalidClientTokenId",
    "ExpiredToken",
    "UnrecognizedClientException",
];

/// Turns an SDK error into a [`CloudError`] naming the operation.
pub fn classify<E>(operation: &str, error: SdkError<E, HttpResponse>) -> CloudError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let status = error.raw_response().map(|r| r.status().as_u16());
    let code = error.code().map(str::to_string);
    // Some services send an empty message ("InvalidSnapshot.NotFound: " said nothing more).
    let message = match (&code, error.message().filter(|m| !m.trim().is_empty()), status) {
        (Some(code), Some(message), _) => format!("{code}: {message}"),
        (Some(code), None, _) => code.clone(),
        // An answer that is not an AWS error document (a proxy's or emulator's HTML page).
        (None, _, Some(status)) => format!("HTTP {status} without an AWS error code"),
        _ => concise(&aws_smithy_types::error::display::DisplayErrorContext(&error).to_string()),
    };
    let kind = match &error {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) => ErrorKind::Network,
        SdkError::ConstructionFailure(_) => ErrorKind::Credentials,
        _ => kind_of(code.as_deref(), status),
    };
    if let SdkError::DispatchFailure(_) | SdkError::ConstructionFailure(_) = &error
        && let Some((kind, message)) = cause_without_answer(&error)
    {
        return CloudError::new(operation, kind, message);
    }
    CloudError::new(operation, kind, message)
}

/// Where the default credential chain looks, for the error that says it found nothing.
const CREDENTIAL_CHAIN: &str = "the environment (AWS_ACCESS_KEY_ID), the shared config and credentials files (AWS_PROFILE), \
     web identity (AWS_WEB_IDENTITY_TOKEN_FILE, IRSA), the container endpoint (ECS, EKS Pod Identity) and EC2 instance metadata";

/// What kept a request from getting any answer, said plainly: no credentials (with where
/// the chain looked), or a refused or timed-out connection. `None`: the SDK's words stand.
fn cause_without_answer(error: &(dyn std::error::Error + 'static)) -> Option<(ErrorKind, String)> {
    let mut source = Some(error);
    while let Some(current) = source {
        if let Some(credentials) = current.downcast_ref::<CredentialsError>() {
            let message = match credentials {
                CredentialsError::CredentialsNotLoaded(_) => format!("no AWS credentials found; looked in {CREDENTIAL_CHAIN}"),
                // The chain found credentials, but STS refused the policy's role: the role's
                // trust policy (or the caller's permissions) is at fault, not the chain.
                other => match assume_role_refusal(other) {
                    Some((code, refusal)) => {
                        return Some((
                            kind_of(Some(&code), None),
                            format!("the role could not be assumed: sts:AssumeRole answered {refusal}"),
                        ));
                    }
                    // A provider that found credentials but failed to load them says why.
                    None => format!(
                        "AWS credentials could not be loaded ({}); the chain looks in {CREDENTIAL_CHAIN}",
                        concise(&aws_smithy_types::error::display::DisplayErrorContext(other).to_string())
                    ),
                },
            };
            return Some((ErrorKind::Credentials, message));
        }
        if let Some(io) = current.downcast_ref::<std::io::Error>() {
            match io.kind() {
                std::io::ErrorKind::ConnectionRefused => return Some((ErrorKind::Network, "connection refused".to_string())),
                std::io::ErrorKind::TimedOut => return Some((ErrorKind::Network, "connection timed out".to_string())),
                _ => {}
            }
        }
        source = current.source();
    }
    None
}

/// STS's refusal of AssumeRole somewhere in a credentials error: its code, and `code: message`.
fn assume_role_refusal(error: &(dyn std::error::Error + 'static)) -> Option<(String, String)> {
    use aws_sdk_sts::error::ProvideErrorMetadata;
    let mut source = Some(error);
    while let Some(current) = source {
        if let Some(refusal) = current.downcast_ref::<aws_sdk_sts::operation::assume_role::AssumeRoleError>() {
            let code = refusal.code().unwrap_or("unknown error").to_string();
            let text = match refusal.message() {
                Some(message) => format!("{code}: {}", concise(message)),
                None => code.clone(),
            };
            return Some((code, text));
        }
        source = current.source();
    }
    None
}

/// A call that failed with `code` (e.g. `InvalidPermission.Duplicate` on a retry whose first
/// attempt took effect and lost its answer) succeeded after all when `verify` finds that
/// what exists is exactly what was asked (`Some`); otherwise the call's error stands.
pub(super) async fn done_if_verified<T>(
    result: Result<T, CloudError>,
    code: &str,
    verify: impl Future<Output = Result<Option<T>, CloudError>>,
) -> Result<T, CloudError> {
    let error = match result {
        Err(error) if error.message.starts_with(code) => error,
        other => return other,
    };
    match verify.await {
        Ok(Some(done)) => {
            tracing::info!(operation = %error.operation, code, "already made as asked (a retry after a lost answer): done");
            Ok(done)
        }
        Ok(None) => Err(error),
        Err(read) => {
            // Unverified is not done: the original error is the one to report.
            tracing::warn!(operation = %error.operation, code, %read, "could not check what exists");
            Err(error)
        }
    }
}

/// A delete or revoke whose target is gone is done: an earlier attempt of the retried call
/// took effect and its answer was lost, or someone else removed it meanwhile.
pub(super) fn done_if_gone<T>(result: Result<T, CloudError>) -> Result<(), CloudError> {
    match result {
        Ok(_) => Ok(()),
        Err(error) if error.kind == ErrorKind::NotFound => {
            tracing::info!(operation = %error.operation, %error, "already gone: done");
            Ok(())
        }
        Err(error) => Err(error),
    }
}

/// The first line of a long SDK error chain, cut to a size that fits a condition message.
fn concise(text: &str) -> String {
    const MAX: usize = 300;
    let first = text.lines().next().unwrap_or(text);
    let first = first.split(" (").next().unwrap_or(first);
    let mut cut = first.len().min(MAX);
    while !first.is_char_boundary(cut) {
        cut -= 1;
    }
    first[..cut].to_string()
}

fn kind_of(code: Option<&str>, status: Option<u16>) -> ErrorKind {
    match code {
        Some(code) if THROTTLING_CODES.contains(&code) => ErrorKind::Throttled,
        Some(code) if ACCESS_DENIED_CODES.contains(&code) => ErrorKind::AccessDenied,
        Some(code) if code.ends_with("NotFound") || code.ends_with(".NotFound") || code == "ResourceNotFoundException" => {
            ErrorKind::NotFound
        }
        _ => match status {
            Some(429) => ErrorKind::Throttled,
            Some(401 | 403) => ErrorKind::AccessDenied,
            Some(s) if s >= 500 => ErrorKind::ServerError,
            _ => ErrorKind::InvalidRequest,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_error_chains_are_cut_to_their_first_part() {
        let long = format!("dispatch failure: io error: connection refused (DispatchFailure({}))", "x".repeat(1000));
        assert_eq!(concise(&long), "dispatch failure: io error: connection refused");
        assert!(concise(&"é".repeat(400)).len() <= 300);
    }

    #[tokio::test]
    async fn a_refused_call_is_done_only_when_what_exists_is_verified_as_asked() {
        let duplicate = || CloudError::new("AuthorizeSecurityGroupIngress", ErrorKind::InvalidRequest, "InvalidPermission.Duplicate: x");
        let verified = |found: Option<u32>| async move { Ok(found) };
        assert_eq!(done_if_verified(Err(duplicate()), "InvalidPermission.Duplicate", verified(Some(7))).await, Ok(7));
        assert_eq!(done_if_verified(Err(duplicate()), "InvalidPermission.Duplicate", verified(None)).await, Err(duplicate()));
        let unreadable = async { Err::<Option<u32>, _>(CloudError::new("DescribeSecurityGroupRules", ErrorKind::Throttled, "slow down")) };
        assert_eq!(done_if_verified(Err(duplicate()), "InvalidPermission.Duplicate", unreadable).await, Err(duplicate()), "unverified");
        assert_eq!(done_if_verified(Err(duplicate()), "IncorrectState", verified(Some(7))).await, Err(duplicate()), "another code");
        assert_eq!(done_if_verified(Ok(1), "InvalidPermission.Duplicate", verified(Some(7))).await, Ok(1));
    }

    #[test]
    fn only_a_target_that_is_gone_makes_a_failed_delete_done() {
        let error = |kind| Err::<(), _>(CloudError::new("DeleteSnapshot", kind, "x"));
        assert_eq!(done_if_gone(error(ErrorKind::NotFound)), Ok(()));
        assert_eq!(done_if_gone(error(ErrorKind::AccessDenied)), error(ErrorKind::AccessDenied));
    }

    #[test]
    fn codes_map_to_kinds() {
        assert_eq!(kind_of(Some("RequestLimitExceeded"), Some(503)), ErrorKind::Throttled);
        assert_eq!(kind_of(Some("UnauthorizedOperation"), Some(403)), ErrorKind::AccessDenied);
        assert_eq!(kind_of(Some("InvalidVpcID.NotFound"), Some(400)), ErrorKind::NotFound);
        assert_eq!(kind_of(None, Some(500)), ErrorKind::ServerError);
        assert_eq!(kind_of(Some("RouteAlreadyExists"), Some(400)), ErrorKind::InvalidRequest);
    }
}
