/**
 * How many bytes each stage of a byte pipeline (tool output -> hash -> ZIP -> storage) may hold
 * before it asks the stage before it to wait. Node's default (16 KiB) is smaller than one pipe
 * read (64 KiB): every chunk then pauses and resumes the tool's pipe, and the file writes go out
 * one chunk at a time. At 1 MiB per stage, relaying 800 MB from a child process through four
 * stages into a file took 1.2 s instead of 1.8-2.1 s of wall time, with half the kernel CPU;
 * 4 MiB was slower again (measured on the 2-core bench machine; docs/pipeline.md).
 */
export const STREAM_BUFFER_BYTES = 1024 * 1024;
