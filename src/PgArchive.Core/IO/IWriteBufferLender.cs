namespace PgArchive.IO;

/// <summary>
/// A write stage that lends the buffer it would otherwise copy written bytes into, so that a reader can fill it
/// directly: a file read lands in the compressor's block instead of in a copy buffer first (one memory copy less
/// per byte backed up). What is written through <see cref="CommitAsync"/> is exactly what a write of the same
/// bytes would have done.
/// </summary>
internal interface IWriteBufferLender
{
    /// <summary>Whether this stage lends a buffer now (a wrapper lends only when what it wraps does).</summary>
    bool CanLend { get; }

    /// <summary>The free part of the stage's buffer: never empty; valid until the next call on the stage.</summary>
    Memory<byte> GetWriteBuffer();

    /// <summary>Takes the first <paramref name="count"/> bytes of the buffer <see cref="GetWriteBuffer"/> returned as written.</summary>
    ValueTask CommitAsync(int count, CancellationToken cancellationToken);
}
