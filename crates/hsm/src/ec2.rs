//! kmsctl's one EC2 call: `DescribeSubnets`, for the AZ of each declared subnet at plan time.
//! Sent as one signed Query request (`kmsctl_aws::query`) and read from its XML here: the
//! `aws-sdk-ec2` crate cost about 150 s of a cold build for this single call.

use std::collections::BTreeMap;

use aws_smithy_xml::decode::{Document, ScopedDecoder, XmlDecodeError, try_data};
use kmsctl_aws::AwsError;
use kmsctl_aws::query::{ProvideErrorMetadata, QueryClient, QueryService};

/// EC2 as the Query client needs it.
pub const SERVICE: QueryService = QueryService {
    service_id: "EC2",
    signing_name: "ec2",
    version: "2016-11-15",
    gov_fips_is_regional: true,
};

const OPERATION: &str = "ec2:DescribeSubnets";

/// EC2 with a session's configuration.
#[derive(Debug, Clone)]
pub struct Ec2 {
    query: QueryClient,
}

impl Ec2 {
    pub fn new(config: &aws_config::SdkConfig) -> Self {
        Self {
            query: QueryClient::new(config, SERVICE),
        }
    }

    /// Subnet → AZ for `subnet_ids`; empty if any of them does not exist.
    pub async fn subnet_azs(
        &self,
        subnet_ids: &[String],
    ) -> Result<BTreeMap<String, String>, AwsError> {
        if subnet_ids.is_empty() {
            return Ok(BTreeMap::new());
        }
        let ids: Vec<(String, String)> = subnet_ids
            .iter()
            .enumerate()
            .map(|(i, id)| (format!("SubnetId.{}", i + 1), id.clone()))
            .collect();
        let mut azs = BTreeMap::new();
        let mut token: Option<String> = None;
        // Filtered by id and without MaxResults, EC2 answers in one page (its paging is opt-in);
        // a nextToken is followed all the same, should it ever come.
        loop {
            let mut params = ids.clone();
            params.extend(token.iter().map(|t| ("NextToken".to_owned(), t.clone())));
            let xml = match self.query.send("DescribeSubnets", &params).await {
                Ok(xml) => xml,
                // One unknown id fails the whole call: the guard names the subnets it did not get back.
                Err(e) if e.code() == Some("InvalidSubnetID.NotFound") => {
                    return Ok(BTreeMap::new());
                }
                Err(e) => return Err(kmsctl_aws::failed(OPERATION)(e)),
            };
            let page = read_page(&xml).map_err(|e| AwsError::Call {
                operation: OPERATION.into(),
                code: None,
                message: format!("unreadable answer: {e}"),
            })?;
            azs.extend(page.subnets);
            match page.next_token {
                Some(next) if token.as_ref() != Some(&next) => token = Some(next),
                _ => return Ok(azs),
            }
        }
    }
}

/// One page of a `DescribeSubnetsResponse`.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Page {
    /// (subnet id, AZ), for subnets that have both.
    pub subnets: Vec<(String, String)>,
    pub next_token: Option<String>,
}

pub(crate) fn read_page(xml: &str) -> Result<Page, XmlDecodeError> {
    let mut doc = Document::new(xml);
    let mut root = doc.root_element()?;
    if !root.start_el().matches("DescribeSubnetsResponse") {
        return Err(XmlDecodeError::custom(format!(
            "expected DescribeSubnetsResponse, got {}",
            root.start_el().local()
        )));
    }
    let mut page = Page::default();
    while let Some(mut tag) = root.next_tag() {
        if tag.start_el().matches("subnetSet") {
            while let Some(mut item) = tag.next_tag() {
                if let Some(subnet) = read_subnet(&mut item)? {
                    page.subnets.push(subnet);
                }
            }
        } else if tag.start_el().matches("nextToken") {
            page.next_token = Some(try_data(&mut tag)?.into_owned()).filter(|t| !t.is_empty());
        }
    }
    Ok(page)
}

/// An `<item>` of the subnet set; nested sets (tags, IPv6 blocks) are skipped.
fn read_subnet(
    item: &mut ScopedDecoder<'_, '_>,
) -> Result<Option<(String, String)>, XmlDecodeError> {
    let (mut id, mut az) = (None, None);
    while let Some(mut field) = item.next_tag() {
        if field.start_el().matches("subnetId") {
            id = Some(try_data(&mut field)?.into_owned());
        } else if field.start_el().matches("availabilityZone") {
            az = Some(try_data(&mut field)?.into_owned());
        }
    }
    Ok(id.zip(az))
}

#[cfg(test)]
mod tests;
