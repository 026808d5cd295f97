namespace PgArchive.Storage;

/// <summary>
/// The size and XXH128 of an object's bytes exactly as stored (after compression and encryption), recorded
/// when it was written so that any later change to it (truncation, a flipped bit, another object put in its
/// place) is caught when it is read, whatever the codec and the store.
/// </summary>
/// <param name="Size">Bytes stored.</param>
/// <param name="XxHash128">Lower-case hex of the canonical XXH128 of those bytes.</param>
public sealed record StoredChecksum(long Size, string XxHash128);
