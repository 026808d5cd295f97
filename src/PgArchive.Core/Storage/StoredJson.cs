using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using PgArchive.IO;

namespace PgArchive.Storage;

/// <summary>
/// Reads one JSON object of the archive (a sentinel, a metadata.json, a files_metadata.json, a progress record of
/// backup-push): the one way they are read. Each kind (a <see cref="StoredJsonKind"/>, declared by its reader) has a
/// size limit and no single value may pass <see cref="MaxValueBytes"/>, so an object someone made huge costs a bounded
/// amount of memory (the parser buffers a value whole); anything that is not the object expected (too large, not JSON,
/// a field of the wrong type, a null where a value is needed, a value the kind refuses) fails as
/// <see cref="ObjectCorruptException"/> naming the key and the field.
/// </summary>
internal static class StoredJson
{
    /// <summary>The longest single JSON value (a string, a number) of any object: the parser holds one whole.</summary>
    public const int MaxValueBytes = 1 << 20;

    /// <summary>
    /// The object under <paramref name="key"/>, or null when there is none. <paramref name="defect"/> names what is wrong
    /// with a value that parsed (<c>field DeltaFrom: ...</c>), or returns null when it is acceptable.
    /// </summary>
    /// <exception cref="ObjectCorruptException">The object is too large or not the JSON <typeparamref name="T"/> expected.</exception>
    public static async Task<T?> ReadAsync<T>(IObjectStore store, string key, JsonTypeInfo<T> typeInfo, StoredJsonKind kind,
        Func<T, string?>? defect, CancellationToken cancellationToken)
        where T : class
    {
        Stream stored;
        try
        {
            stored = await store.OpenReadAsync(key, null, cancellationToken).ConfigureAwait(false);
        }
        catch (ObjectStoreException ex) when (ex.Kind == ObjectStoreErrorKind.NotFound)
        {
            return null;
        }

        var limited = new JsonTokenLimitStream(
            new ByteLimitStream(stored, kind.MaxBytes, () => new ObjectCorruptException(key,
                $"it is larger than the {Describe(kind.MaxBytes)} that {kind.Description} may hold, and was not read further")),
            MaxValueBytes, start => new ObjectCorruptException(key, string.Create(CultureInfo.InvariantCulture,
                $"it holds a JSON value longer than {Describe(MaxValueBytes)} (from byte {start}), which no field of {kind.Description} needs; it was not read further")));
        await using (limited.ConfigureAwait(false))
        {
            T value;
            try
            {
                value = await JsonSerializer.DeserializeAsync(limited, typeInfo, cancellationToken).ConfigureAwait(false)
                    ?? throw new ObjectCorruptException(key, $"it holds JSON null, not {kind.Description}");
            }
            catch (JsonException ex)
            {
                throw new ObjectCorruptException(key, Describe(ex, kind), ex);
            }

            return defect?.Invoke(value) is { } problem ? throw new ObjectCorruptException(key, problem) : value;
        }
    }

    /// <summary>A byte count the way limits are stated: <c>64 MiB</c>, <c>4 GiB</c>.</summary>
    public static string Describe(long bytes) => bytes >= 1L << 30 && bytes % (1L << 30) == 0
        ? string.Create(CultureInfo.InvariantCulture, $"{bytes >> 30} GiB")
        : string.Create(CultureInfo.InvariantCulture, $"{bytes >> 20} MiB");

    /// <summary>
    /// What the parser found wrong: for a value it could not take, the field it was reading (<c>$.Spec</c> → <c>field Spec</c>);
    /// for text that is not JSON at all (the serializer wraps the reader's exception), where it stopped.
    /// </summary>
    private static string Describe(JsonException ex, StoredJsonKind kind)
    {
        var reason = ex.Message;
        foreach (var end in new[] { " Path: ", ". Consider updating" })
        {
            var cut = reason.IndexOf(end, StringComparison.Ordinal);
            reason = cut >= 0 ? reason[..cut] : reason;
        }

        reason = reason.Replace("System.", "", StringComparison.Ordinal).Replace("PgArchive.Backups.", "", StringComparison.Ordinal).TrimEnd('.', ' ');
        var field = ex.Path is { Length: > 1 } path ? path.TrimStart('$').TrimStart('.') : null;
        if (ex.InnerException is JsonException)
        {
            return string.Create(CultureInfo.InvariantCulture,
                $"it is not valid JSON: {reason} (line {ex.LineNumber + 1}, byte {ex.BytePositionInLine + 1}{(field is null ? "" : ", in field " + field)})");
        }

        return field is null ? $"it is not valid JSON for {kind.Description} ({reason})" : $"field {field}: {reason}";
    }
}

/// <summary>A kind of JSON object in the archive and the most it may hold.</summary>
/// <param name="Description">What it is, for messages: <c>a backup sentinel</c>.</param>
/// <param name="MaxBytes">Its size limit in bytes.</param>
internal sealed record StoredJsonKind(string Description, long MaxBytes);
