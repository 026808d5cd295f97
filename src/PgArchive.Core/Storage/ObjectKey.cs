namespace PgArchive.Storage;

/// <summary>Validation shared by the stores: keys are relative, '/'-separated, without empty or dot segments.</summary>
public static class ObjectKey
{
    /// <summary>Throws <see cref="ArgumentException"/> unless <paramref name="key"/> is a valid object key.</summary>
    public static void Validate(string key, string paramName = "key")
    {
        ArgumentException.ThrowIfNullOrEmpty(key, paramName);
        if (key.StartsWith('/') || key.EndsWith('/') || key.Contains('\\', StringComparison.Ordinal) || key.Contains('\0', StringComparison.Ordinal))
        {
            throw new ArgumentException($"Object key '{key}' must be relative, use '/' separators and not end with '/'.", paramName);
        }

        foreach (var segment in key.Split('/'))
        {
            if (segment.Length == 0 || segment == "." || segment == "..")
            {
                throw new ArgumentException($"Object key '{key}' has an empty, '.' or '..' segment.", paramName);
            }
        }
    }

    /// <summary>Throws <see cref="ArgumentException"/> unless <paramref name="prefix"/> is empty or a valid key prefix.</summary>
    public static void ValidatePrefix(string prefix, string paramName = "prefix")
    {
        ArgumentNullException.ThrowIfNull(prefix, paramName);
        if (prefix.Length == 0)
        {
            return;
        }

        Validate(prefix.TrimEnd('/') is { Length: > 0 } trimmed ? trimmed : "x", paramName);
    }
}
