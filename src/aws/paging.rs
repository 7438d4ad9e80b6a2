//! Paginated reads, paced per page actually requested.
//!
//! The SDK's paginator sends no request after a page without a next token. Taking a pacing
//! token before asking it for "the next page" regardless would spend one token per read for
//! a request never made: a one-page DescribeSnapshots would cost two tokens, and N policies
//! sharing an account would get two thirds of the describe rate (seen in the controller
//! scale benchmark: 14 calls/s of a 20/s bucket). Pacing once before a whole multi-page read
//! would do the opposite: every page after the first unpaced.

use std::sync::Arc;

use aws_smithy_async::future::pagination_stream::PaginationStream;

use super::TokenBucket;

/// A page that says whether another one follows (as the SDK's paginator decides it).
pub(super) trait Page {
    fn has_more(&self) -> bool;
}

/// `Page` for outputs that carry a next token (EC2, SSM) or an IsTruncated flag (IAM).
macro_rules! pages {
    (next_token: $($output:ty),* ; is_truncated: $($truncated:ty),* $(,)?) => {
        $(impl Page for $output {
            fn has_more(&self) -> bool {
                self.next_token().is_some_and(|token| !token.is_empty())
            }
        })*
        $(impl Page for $truncated {
            fn has_more(&self) -> bool {
                self.is_truncated()
            }
        })*
    };
}

pages!(
    next_token:
    aws_sdk_ec2::operation::describe_images::DescribeImagesOutput,
    aws_sdk_ec2::operation::describe_launch_templates::DescribeLaunchTemplatesOutput,
    aws_sdk_ec2::operation::describe_launch_template_versions::DescribeLaunchTemplateVersionsOutput,
    aws_sdk_ec2::operation::describe_security_groups::DescribeSecurityGroupsOutput,
    aws_sdk_ec2::operation::describe_security_group_rules::DescribeSecurityGroupRulesOutput,
    aws_sdk_ec2::operation::describe_volumes::DescribeVolumesOutput,
    aws_sdk_ec2::operation::describe_vpcs::DescribeVpcsOutput,
    aws_sdk_ec2::operation::describe_route_tables::DescribeRouteTablesOutput,
    aws_sdk_ec2::operation::describe_vpc_endpoints::DescribeVpcEndpointsOutput,
    aws_sdk_ec2::operation::describe_nat_gateways::DescribeNatGatewaysOutput,
    aws_sdk_ssm::operation::describe_instance_information::DescribeInstanceInformationOutput,
    aws_sdk_organizations::operation::list_accounts_for_parent::ListAccountsForParentOutput,
    aws_sdk_organizations::operation::list_organizational_units_for_parent::ListOrganizationalUnitsForParentOutput,
    aws_sdk_organizations::operation::list_tags_for_resource::ListTagsForResourceOutput;
    is_truncated:
    aws_sdk_iam::operation::list_attached_role_policies::ListAttachedRolePoliciesOutput,
    aws_sdk_iam::operation::list_role_policies::ListRolePoliciesOutput,
    aws_sdk_iam::operation::list_users::ListUsersOutput,
    aws_sdk_iam::operation::list_user_tags::ListUserTagsOutput,
    aws_sdk_iam::operation::list_access_keys::ListAccessKeysOutput,
);

/// The pages of one read, each paced by `bucket` before it is requested.
pub(super) struct PacedPages<T, E> {
    bucket: Arc<TokenBucket>,
    pages: PaginationStream<Result<T, E>>,
    /// Whether the paginator will send a request for the next page.
    more: bool,
}

impl<T: Page, E> PacedPages<T, E> {
    pub(super) fn new(bucket: Arc<TokenBucket>, pages: PaginationStream<Result<T, E>>) -> Self {
        Self { bucket, pages, more: true }
    }

    pub(super) async fn next(&mut self) -> Option<Result<T, E>> {
        // The paginator is still asked after the last page: should it disagree and send a
        // request, that page is read (unpaced) rather than dropped, so a read is never cut short.
        if self.more {
            self.bucket.acquire().await;
        }
        let page = self.pages.next().await?;
        self.more = page.as_ref().is_ok_and(Page::has_more);
        Some(page)
    }
}

/// The token of the page to ask for next, if any: none after an empty token, and none when
/// the service answers the token it was sent (the SDK's paginators stop there too, rather
/// than ask for the same page forever).
pub(super) fn next_token(sent: Option<&str>, next: Option<String>) -> Option<String> {
    next.filter(|next| !next.is_empty() && Some(next.as_str()) != sent)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use aws_smithy_async::future::pagination_stream::fn_stream::FnStream;

    use super::*;

    struct TestPage {
        more: bool,
    }

    impl Page for TestPage {
        fn has_more(&self) -> bool {
            self.more
        }
    }

    fn pages(more: &[bool]) -> PaginationStream<Result<TestPage, ()>> {
        let more = more.to_vec();
        PaginationStream::new(FnStream::new(move |tx| {
            Box::pin(async move {
                for more in more {
                    if tx.send(Ok(TestPage { more })).await.is_err() {
                        return;
                    }
                }
            })
        }))
    }

    /// Reads every page; returns how many there were.
    async fn read_all(bucket: &Arc<TokenBucket>, more: &[bool]) -> usize {
        let mut paced = PacedPages::new(bucket.clone(), pages(more));
        let mut read = 0;
        while let Some(page) = paced.next().await {
            assert!(page.is_ok());
            read += 1;
        }
        read
    }

    /// Tokens left in a bucket that (practically) does not refill.
    async fn tokens_left(bucket: &TokenBucket) -> usize {
        let mut left = 0;
        while tokio::time::timeout(Duration::from_secs(1), bucket.acquire()).await.is_ok() {
            left += 1;
        }
        left
    }

    #[tokio::test(start_paused = true)]
    async fn a_read_takes_one_token_per_page_requested() {
        let bucket = Arc::new(TokenBucket::new(5.0, 1e-6));
        assert_eq!(read_all(&bucket, &[true, true, false]).await, 3);
        assert_eq!(tokens_left(&bucket).await, 2, "three pages took three tokens, none for the request never made");
    }

    #[tokio::test(start_paused = true)]
    async fn a_page_the_paginator_sends_after_the_last_one_is_still_read() {
        let bucket = Arc::new(TokenBucket::new(5.0, 1e-6));
        assert_eq!(read_all(&bucket, &[false, false]).await, 2, "no page is dropped");
        assert_eq!(tokens_left(&bucket).await, 4);
    }

    #[test]
    fn a_read_stops_at_an_empty_or_repeated_token() {
        assert_eq!(next_token(None, Some("a".to_string())), Some("a".to_string()));
        assert_eq!(next_token(Some("a"), Some("b".to_string())), Some("b".to_string()));
        assert_eq!(next_token(Some("a"), Some(String::new())), None);
        assert_eq!(next_token(Some("a"), None), None);
        assert_eq!(next_token(Some("a"), Some("a".to_string())), None);
    }
}
