// anywidget entry point: mount the naming canvas on the widget's element.
import "./widget.css";
import { mount } from "./render.js";

export default {
  render({ model, el }) {
    const { cleanup } = mount({ model, el });
    return cleanup;
  },
};
