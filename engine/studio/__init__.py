"""The process owners' studio, engine side: process versions and their scenarios, drafts, comparing versions,
moving running cases to another version. No Flask here; web/studio/ and web/api/ call these."""
