using System.Text.Json;

namespace PgArchive.Backups;

/// <summary>Finding a backup by the user data stored with it (<c>--add-user-data</c>), as WAL-G's UserDataBackupSelector does.</summary>
public sealed partial class BackupCatalog
{
    /// <summary>
    /// The one backup whose metadata.json holds user data equal to <paramref name="userData"/>, or null when none does
    /// (WAL-G's <c>internal/backup_selector.go</c> findBackupByUserData: JSON compared as Go compares what it decoded,
    /// <c>reflect.DeepEqual</c> of maps, slices, float64 numbers, strings, booleans and nil, which a backup without user data holds). Backups whose sentinel or
    /// metadata.json cannot be read are passed over with a warning, as WAL-G passes them over.
    /// </summary>
    /// <exception cref="PgArchiveException">More than one backup holds that user data.</exception>
    public async Task<BackupInfo?> FindByUserDataAsync(JsonElement userData, CancellationToken cancellationToken = default)
    {
        var found = (await ListDetailedAsync(cancellationToken).ConfigureAwait(false)).Backups
            .Where(b => b.Metadata.UserData is { } theirs ? DecodedJsonEquality.Equal(userData, theirs) : userData.ValueKind == JsonValueKind.Null)
            .Select(b => b.Info)
            .ToList();
        return found.Count switch
        {
            0 => null,
            1 => found[0],
            _ => throw new PgArchiveException(
                $"{found.Count} backups hold this user data ({string.Join(", ", found.Select(b => b.Name))}): name the one you mean instead."),
        };
    }
}
