namespace PgArchive.Backups.Delta;

/// <summary>
/// What a block source says about one data-directory file of a delta: store it whole, or store the increment
/// of exactly these blocks (segment-relative, ascending, within the file's size when asked).
/// </summary>
internal sealed class BlockSelection
{
    private BlockSelection(bool whole, IReadOnlyList<uint> blocks)
    {
        IsWhole = whole;
        Blocks = blocks;
    }

    /// <summary>The file is stored whole: created, recreated or truncated to before this segment since the base, or a fork whose changes WAL does not tell.</summary>
    public static BlockSelection Whole { get; } = new(true, []);

    /// <summary>True when the file is stored whole.</summary>
    public bool IsWhole { get; }

    /// <summary>The segment-relative block numbers to read and store, ascending; empty when the file is whole or unchanged.</summary>
    public IReadOnlyList<uint> Blocks { get; }

    /// <summary>An increment of <paramref name="blocks"/> (segment-relative, ascending).</summary>
    public static BlockSelection Of(IReadOnlyList<uint> blocks) => new(false, blocks ?? throw new ArgumentNullException(nameof(blocks)));
}
