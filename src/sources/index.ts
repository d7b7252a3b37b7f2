// Barrel of src/sources: each module adds its own export line here.
export {};
