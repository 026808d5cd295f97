namespace PgArchive.Storage;

/// <summary>
/// Marks a store that already retries transient failures itself (through its SDK: S3, Azure, GCS, Swift). PgArchive's
/// own retries (<see cref="RetryingObjectStore"/>, and the re-run of a streamed tar partition or WAL upload) are then
/// turned off for it, so that a store that is down fails after the SDK's retries rather than after their product.
/// A <see cref="FaultInjectingObjectStore"/> around such a store is not marked: its injected faults are retried.
/// </summary>
public interface ISelfRetryingObjectStore
{
}
