//! The eligible voters of a proposal, asked of the directory when voting
//! opens: the active people of its approving departments, or only their
//! heads.

use concord_kit::Error;
use concord_kit::directory::DirectoryLink;
use concord_proto::directory::v1::ResolveAudienceRequest;

use crate::domain::{Electorate, ParticipationRole, Proposal};
use crate::store::vote::Voter;

/// Refused when an approving department is gone from the directory.
fn department_gone() -> Error {
    Error::precondition("an approving department no longer exists in the directory")
}

/// The eligible voters of `p` now, each once, by person id.
/// FAILED_PRECONDITION when an approving department no longer exists.
#[tracing::instrument(skip_all, fields(proposal_id = %p.id))]
pub async fn of(directory: &DirectoryLink, p: &Proposal) -> Result<Vec<Voter>, Error> {
    let departments = p.departments(ParticipationRole::Approving);
    let mut voters: Vec<Voter> = match p.electorate {
        Electorate::ApprovingMembers => {
            let request = ResolveAudienceRequest {
                department_ids: departments,
                ..Default::default()
            };
            match directory.resolve(request, &|f| f.to_string()).await {
                Ok(members) => members
                    .into_iter()
                    .map(|m| Voter {
                        person_id: m.person_id,
                        department_id: m.department_id,
                        display_name: m.display_name,
                        delegate_id: None,
                    })
                    .collect(),
                Err(Error::Invalid(_)) => return Err(department_gone()),
                Err(e) => return Err(e),
            }
        }
        Electorate::ApprovingHeads => {
            let mut heads = Vec::new();
            for d in &departments {
                match directory.heads(d).await {
                    Ok(people) => heads.extend(people.into_iter().map(|h| Voter {
                        person_id: h.id,
                        department_id: h.department_id,
                        display_name: h.display_name,
                        delegate_id: None,
                    })),
                    Err(Error::Invalid(_)) => return Err(department_gone()),
                    Err(e) => return Err(e),
                }
            }
            heads
        }
    };
    voters.sort_by(|a, b| a.person_id.cmp(&b.person_id));
    voters.dedup_by(|a, b| a.person_id == b.person_id);
    Ok(voters)
}
