from flask_wtf import FlaskForm
from wtforms import FileField, HiddenField, SelectField, StringField
from wtforms.validators import Length

from advocate.documents.models import CATEGORIES
from advocate.forms import choices

CATEGORY_CHOICES = choices([("", "Choose a category…"), *CATEGORIES])
ACCEPT = ".pdf,.png,.jpg,.jpeg,.tif,.tiff,.docx,.txt,application/pdf,image/png,image/jpeg,image/tiff,text/plain"


class UploadForm(FlaskForm):
    """Rendered on the stand-alone upload page; the service does the validating
    (by content), and its messages land on these fields."""

    owner_type = HiddenField()
    owner_id = HiddenField()
    next = HiddenField()
    category = SelectField("Category", choices=CATEGORY_CHOICES)
    file = FileField("File", render_kw={"accept": ACCEPT})
    note = StringField(
        "Note",
        validators=[Length(max=500)],
        description="Optional. No patient details needed here.",
    )
