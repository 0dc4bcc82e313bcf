//! The ground floor under `source`, `diff`, `engine`, `report` and `cli`: what every layer
//! uses. Errors and their rendering, the DataFusion session and memory limit, table
//! references, SQL text generation, value formatting and masking. It imports only `config`
//! (and the leaves `filesystem`, `shorten`).

pub mod distinct;
pub mod error;
pub mod json;
pub mod mask;
pub mod memory;
pub mod row_hash;
pub mod session;
pub mod sqlgen;
pub mod values;

pub use error::{Error, Result};
pub use memory::memory_limit;
pub use session::{error_text, new_session, reference, session_on};
