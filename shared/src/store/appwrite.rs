//! The production store over Appwrite's TablesDB REST API (in progress).
