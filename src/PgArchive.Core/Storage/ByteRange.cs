namespace PgArchive.Storage;

/// <summary>A range of bytes of an object: <see cref="Length"/> bytes from <see cref="Offset"/>, or to the end when null.</summary>
public readonly record struct ByteRange
{
    /// <summary>Creates a range.</summary>
    public ByteRange(long offset, long? length = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        if (length is { } l)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(l, nameof(length));
        }

        Offset = offset;
        Length = length;
    }

    /// <summary>The first byte to read.</summary>
    public long Offset { get; }

    /// <summary>How many bytes to read; null reads to the end of the object.</summary>
    public long? Length { get; }
}
