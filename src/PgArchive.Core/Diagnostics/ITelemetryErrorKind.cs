namespace PgArchive.Diagnostics;

/// <summary>
/// An exception that states its own <c>error.kind</c> for the <c>pgarchive.errors</c> counter and the span's status, so
/// that the classification sits next to the type it classifies. <c>not_found</c> is an answer, not a failure: it is not counted.
/// </summary>
internal interface ITelemetryErrorKind
{
    /// <summary>The value of the <c>error.kind</c> tag: <c>store.notfound</c>, <c>not_found</c>.</summary>
    string ErrorKind { get; }
}
