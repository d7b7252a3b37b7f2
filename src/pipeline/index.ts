// Barrel of src/pipeline: each module adds its own export line here.
export {};
