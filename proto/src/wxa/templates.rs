//! The platform's template library (component token): drafts, templates, adding and deleting
//! (api-contracts §21; 85064 not found, 85065 library full).

use serde::{Deserialize, Serialize};

use super::code::Extra;

/// A draft uploaded from the developer tools.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Draft {
    /// Its id.
    #[serde(default)]
    pub draft_id: u64,
    /// Its version name.
    #[serde(default)]
    pub user_version: String,
    /// Its description.
    #[serde(default)]
    pub user_desc: String,
    /// When it was uploaded (Unix seconds).
    #[serde(default)]
    pub create_time: u64,
    /// Fields not modelled here.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `gettemplatedraftlist`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DraftList {
    /// The drafts.
    #[serde(default)]
    pub draft_list: Vec<Draft>,
    /// Fields not modelled here.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A template of the library.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Template {
    /// Its id (for `commit`).
    #[serde(default)]
    pub template_id: u64,
    /// The draft it came from.
    #[serde(default)]
    pub draft_id: u64,
    /// Its version name.
    #[serde(default)]
    pub user_version: String,
    /// Its description.
    #[serde(default)]
    pub user_desc: String,
    /// When it was added (Unix seconds).
    #[serde(default)]
    pub create_time: u64,
    /// 0 normal, 1 standard.
    #[serde(default)]
    pub template_type: u8,
    /// Fields not modelled here.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `gettemplatelist`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TemplateList {
    /// The templates.
    #[serde(default)]
    pub template_list: Vec<Template>,
    /// Fields not modelled here.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `POST /wxa/addtotemplate`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddToTemplateRequest {
    /// The draft to add.
    pub draft_id: u64,
    /// 0 normal template, 1 standard template.
    pub template_type: u8,
}

/// `POST /wxa/deletetemplate`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeleteTemplateRequest {
    /// The template to delete.
    pub template_id: u64,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    #[test]
    fn template_list_keeps_new_fields() {
        let l: TemplateList = serde_json::from_value(json!({
            "errcode": 0,
            "template_list": [{"template_id": 5, "draft_id": 2, "user_version": "1", "category_list": []}]
        }))
        .unwrap();
        assert_eq!(l.template_list[0].template_id, 5);
        assert_eq!(l.template_list[0].extra["category_list"], json!([]));
    }
}
