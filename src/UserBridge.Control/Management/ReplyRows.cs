using System.Text.Json;

namespace UserBridge.Control.Management;

/// <summary>
/// A listing that is written into its reply one row at a time (<c>fdb show</c>, <c>port show</c>) instead of being built
/// as a tree first: a 65,536-entry MAC table then costs a cursor and the piece of the reply on its way, however many
/// clients ask at once and however slowly they read.
/// </summary>
public abstract class ReplyRows
{
    /// <summary>Writes the next row as a JSON value; false when there is none left.</summary>
    public abstract bool WriteNext(Utf8JsonWriter writer);
}
