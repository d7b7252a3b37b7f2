// Barrel of src/storage: each module adds its own export line here.
export {};
