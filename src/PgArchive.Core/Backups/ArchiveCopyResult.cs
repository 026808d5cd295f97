namespace PgArchive.Backups;

/// <summary>What <see cref="ArchiveCopier"/> did.</summary>
/// <param name="Backups">The backups whose closures were copied (the requested ones and the bases of their delta chains), bases first.</param>
/// <param name="Copied">Objects written to the destination.</param>
/// <param name="Skipped">Objects the destination already held, found to be the same (see <see cref="ArchiveCopier"/>).</param>
/// <param name="BytesCopied">Bytes written to the destination.</param>
public sealed record ArchiveCopyResult(IReadOnlyList<string> Backups, int Copied, int Skipped, long BytesCopied)
{
    /// <summary>True when the payloads were decrypted with the source's key and encrypted with the destination's.</summary>
    public bool ReEncrypted { get; init; }
}
