namespace PgArchive;

/// <summary>For options that reach a service without start-up validation (built by hand): the validator's rules, applied at construction.</summary>
internal static class OptionsFailures
{
    /// <summary>Throws a <see cref="PgArchiveConfigurationException"/> listing <paramref name="failures"/>, if there are any.</summary>
    public static void ThrowIfAny(IEnumerable<string>? failures)
    {
        var list = failures?.ToList() ?? [];
        if (list.Count > 0)
        {
            throw new PgArchiveConfigurationException(string.Join(" ", list));
        }
    }
}
