//! The platform's template library (component token): drafts, templates, add, delete.

use wxopen_proto::api::Ack;
use wxopen_proto::wxa::{
    AddToTemplateRequest, DeleteTemplateRequest, DraftList, TemplateList, WxaApi,
};

use super::client::ComponentClient;
use super::wxa_send::NO_BODY;
use crate::error::Result;

impl ComponentClient {
    /// `gettemplatedraftlist`: drafts uploaded from the developer tools.
    pub async fn template_drafts(&self) -> Result<DraftList> {
        self.wxa_component(WxaApi::GetTemplateDraftList, NO_BODY)
            .await
    }

    /// `addtotemplate`: adds draft `draft_id` to the library (`template_type` 0 normal, 1
    /// standard; 85065 library full).
    pub async fn add_to_template(&self, draft_id: u64, template_type: u8) -> Result<()> {
        let _: Ack = self
            .wxa_component(
                WxaApi::AddToTemplate,
                Some(&AddToTemplateRequest {
                    draft_id,
                    template_type,
                }),
            )
            .await?;
        Ok(())
    }

    /// `gettemplatelist`: the library.
    pub async fn templates(&self) -> Result<TemplateList> {
        self.wxa_component(WxaApi::GetTemplateList, NO_BODY).await
    }

    /// `deletetemplate` (85064 not found).
    pub async fn delete_template(&self, template_id: u64) -> Result<()> {
        let _: Ack = self
            .wxa_component(
                WxaApi::DeleteTemplate,
                Some(&DeleteTemplateRequest { template_id }),
            )
            .await?;
        Ok(())
    }
}
